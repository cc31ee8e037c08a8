"""Self-training a segmentation network on explanation masks, from image labels alone.

The explanation pipeline draws a mask for every training photo that the
classifier calls cracked; those masks, with a band of "don't know" around them,
become the targets of a :class:`cracklib.pipeline.segmenters.UNet11`. Photos labelled
crack-free are all background. No pixel mask is read anywhere on this path:
the data folders may hold none (a test deletes them and gets the same weights).
Optionally, further rounds train again on the network's own confident
predictions.

A pseudo-mask has three values: 1 where the pipeline's mask is (confident
crack), :data:`cracklib.train.IGNORE` in a band of ``band`` pixels around it
and wherever the score reaches ``unsure`` times the threshold's cut outside
the mask (refined away, or weak), and 0 elsewhere (confident background, which includes the tiles the
classifier called crack-free).

References
----------
König, J. et al., "Weakly-supervised surface crack segmentation by generating
pseudo-labels using localization with a classifier and thresholding", IEEE
T-ITS 23(12), 2022.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import ndimage

from cracklib.io.datasets import Sample
from cracklib.io.imageio import write_png
from cracklib.nets.models import Normalization
from cracklib.nets.unet import UNet11
from cracklib.nets.weights import load_segmenter
from cracklib.pipeline.classifier import Classifier
from cracklib.pipeline.mask_step import segment
from cracklib.pipeline.results import SegmentationResult
from cracklib.pipeline.segmenters import predict_map
from cracklib.pipeline.settings import PipelineConfig
from cracklib.train.segmenter import IGNORE, SegmenterConfig, train_unet_and_save

__all__ = ["PseudoMaskSettings", "pseudo_mask", "explanation_targets", "network_targets", "distill_and_save"]


#: How pseudo-masks are stored as PNG (0 background, 255 crack, 128 unsure): viewable, and read back exactly.
_PNG = {0: 0, 1: 255, IGNORE: 128}


@dataclass(frozen=True)
class PseudoMaskSettings:
    #: Width (pixels) of the unsure band around the pipeline's mask.
    band: int = 4
    #: Pixels whose score reaches this fraction of the cut (without passing it) are unsure too.
    unsure: float = 0.5
    #: A network's own prediction: crack from this probability, background below ``background``.
    crack: float = 0.5
    background: float = 0.2


def pseudo_mask(result: SegmentationResult, settings: PseudoMaskSettings = PseudoMaskSettings()) -> np.ndarray:
    """Targets (uint8: 0, 1 or IGNORE) from one photo's pipeline result.

    Parameters
    ----------
    result : SegmentationResult
        The explanation pipeline's result on a photo the classifier calls
        cracked. Its ``threshold`` is the cut the score map was taken at: the
        refinement and the closings change the mask after it, so the mask's
        weakest score is no measure of the cut (a closed gap scores 0, and "half
        of 0" would leave every pixel unsure).
    settings : PseudoMaskSettings
    """
    mask = result.mask
    target = np.zeros(mask.shape, np.uint8)
    if mask.any():
        unsure = ndimage.binary_dilation(mask, iterations=settings.band)
        unsure |= result.score >= settings.unsure * result.threshold
    else:
        unsure = np.zeros(mask.shape, bool)
    target[unsure] = IGNORE
    target[mask] = 1
    return target


def _cache_file(cache_dir: Path, sample: Sample) -> Path:
    return cache_dir / f"{hashlib.sha1(str(sample.image.resolve()).encode()).hexdigest()[:16]}.png"


def _cached(cache_dir: Path | None, sample: Sample, make: Callable[[], np.ndarray | None]) -> np.ndarray | None:
    """``make()``, stored as a PNG in ``cache_dir`` (a resumed run reads it back); None is not stored."""
    path = _cache_file(cache_dir, sample) if cache_dir else None
    if path is not None and path.exists():
        from PIL import Image

        stored = np.asarray(Image.open(path).convert("L"))
        return np.select([stored == 255, stored == 128], [1, IGNORE], 0).astype(np.uint8)
    target = make()
    if path is not None and target is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        png = np.zeros(target.shape, np.uint8)
        for value, shade in _PNG.items():
            png[target == value] = shade
        write_png(path, png)
    return target


def explanation_targets(classifier: Classifier, config: PipelineConfig = PipelineConfig(), *,
                        settings: PseudoMaskSettings = PseudoMaskSettings(), cache_dir: str | Path | None = None):
    """Targets from the explanation pipeline: a function (sample, image) -> uint8 target or None.

    Crack-free by label: all background. Otherwise the pipeline runs; a photo it
    leaves unexplained (called crack-free) gives no target when labelled cracked
    (its crack was missed, not absent) and all background when unlabelled.
    Only ``sample.label`` and the photo are read, never ``sample.mask``.
    """
    cache_dir = Path(cache_dir) if cache_dir else None

    def target(sample: Sample, image: np.ndarray) -> np.ndarray | None:
        if sample.label == 0:
            return np.zeros(image.shape[:2], np.uint8)

        def make():
            result = segment(classifier, image, config)
            if not result.explanation.explained:
                return None if sample.label == 1 else np.zeros(image.shape[:2], np.uint8)
            return pseudo_mask(result, settings)

        return _cached(cache_dir, sample, make)

    return target


def network_targets(model: UNet11, normalization: Normalization = Normalization(), *,
                    settings: PseudoMaskSettings = PseudoMaskSettings()):
    """Targets from a trained network's own confident predictions (a further self-training round)."""

    def target(sample: Sample, image: np.ndarray) -> np.ndarray:
        if sample.label == 0:
            return np.zeros(image.shape[:2], np.uint8)
        probability = predict_map(model, image, normalization)
        out = np.full(image.shape[:2], IGNORE, np.uint8)
        out[probability >= settings.crack] = 1
        out[probability < settings.background] = 0
        return out

    return target


def distill_and_save(teacher: Classifier, data: list[str], out: str | Path, *,
                     config: SegmenterConfig = SegmenterConfig(), pipeline: PipelineConfig = PipelineConfig(),
                     settings: PseudoMaskSettings = PseudoMaskSettings(), rounds: int = 1, crops_per_image: int = 6,
                     cache_dir: str | Path | None = None, notes: dict | None = None, resume: bool = False, log=None):
    """Pseudo-masks from ``teacher``'s explanations, a U-Net trained on them, optionally more rounds; saved.

    Returns the model card of the last round.
    """

    notes = {**(notes or {}), "teacher": str(teacher.path), "teacher_sha256": teacher.card.sha256,
             "pipeline": pipeline.to_dict(), "pseudo_masks": settings.__dict__, "rounds": rounds}
    targets = explanation_targets(teacher, pipeline, settings=settings, cache_dir=cache_dir)
    card = None
    for round_number in range(1, rounds + 1):
        if log:
            print(f"round {round_number} of {rounds}", file=log, flush=True)
        card = train_unet_and_save(data, out, config=config, crops_per_image=crops_per_image, targets=targets,
                            pixel_labels="none: image labels and the classifier's explanations "
                                         f"(round {round_number}: "
                                         + ("explanation pseudo-masks)" if round_number == 1
                                            else "the previous round's confident predictions)"),
                            notes={**notes, "round": round_number}, resume=resume, log=log)
        if round_number < rounds:
            model, _ = load_segmenter(out, device="cpu")
            targets = network_targets(model, card.normalization, settings=settings)
    return card
