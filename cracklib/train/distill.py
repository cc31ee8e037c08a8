"""Self-training a segmentation network on explanation masks, from image labels alone.

The explanation pipeline draws a mask for every training photo that the
classifier calls cracked; those masks become the targets of a
:class:`cracklib.nets.UNet11`. No pixel mask is read anywhere on this path:
the data folders may hold none (a test deletes them and gets the same weights).

A pseudo-mask (:func:`pseudo_mask`) has three values, so the student learns only
what the teacher is sure of:

- 1 (crack): the pixels the teacher marks and the refinement keeps;
- :data:`cracklib.train.IGNORE` (in no loss): a band of ``band`` pixels around
  the mask, the pixels whose score reaches ``unsure`` times the threshold's cut
  without passing it (refined away, or weak), and, on a photo with a mask, the
  tiles the classifier left unexplained (a crack there may have been missed);
- 0 (background): everything else, and every pixel of a photo labelled crack-free.

Further rounds (:func:`distill_and_save` with ``rounds``) train again on a new
teacher: the previous student's mask, refined on the photo by the pipeline's
mask step (``student``), or where that mask and the explanation teacher agree
(``agreement``).

References
----------
König, J. et al., "Weakly-supervised surface crack segmentation by generating
pseudo-labels using localization with a classifier and thresholding", IEEE
T-ITS 23(12), 2022.
Xie, Q. et al., "Self-training with Noisy Student improves ImageNet
classification", CVPR 2020 (rounds, a noised student, strong augmentation).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from cracklib.errors import CrackInputError
from cracklib.io.datasets import Sample
from cracklib.io.imageio import write_png
from cracklib.nets.models import card_path, read_card
from cracklib.pipeline.classifier import Classifier
from cracklib.pipeline.explanation import explain_with_network
from cracklib.pipeline.mask_step import segment, segment_explanation
from cracklib.pipeline.methods import default_mask
from cracklib.pipeline.results import SegmentationResult
from cracklib.pipeline.settings import ExplanationSettings, MaskSettings, PipelineConfig
from cracklib.train.segmenter import IGNORE, SegmenterConfig, train_unet_and_save

__all__ = ["PseudoMaskSettings", "pseudo_mask", "default_cache_dir", "explanation_targets", "student_targets",
           "agreement", "ROUND_TEACHERS", "distill_and_save"]

#: A function (sample, photo) -> its target (uint8: 0, 1 or IGNORE), or None for no target.
Targets = Callable[[Sample, np.ndarray], "np.ndarray | None"]


#: How pseudo-masks are stored as PNG (0 background, 255 crack, 128 unsure): viewable, and read back exactly.
_PNG = {0: 0, 1: 255, IGNORE: 128}


@dataclass(frozen=True)
class PseudoMaskSettings:
    #: Width (pixels) of the unsure band around the pipeline's mask.
    band: int = 4
    #: Pixels whose score reaches this fraction of the cut (without passing it) are unsure too.
    unsure: float = 0.5
    #: On a photo with a mask, the tiles the classifier left unexplained are unsure (not background).
    ignore_unexplained: bool = True


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
    unsure = np.zeros(mask.shape, bool) if result.threshold is None else \
        result.score >= settings.unsure * result.threshold
    if mask.any():
        unsure |= ndimage.binary_dilation(mask, iterations=settings.band)
        if settings.ignore_unexplained and result.explanation.support is not None:
            unsure |= ~result.explanation.support
    target[unsure] = IGNORE
    target[mask] = 1
    return target


def _cache_file(cache_dir: Path, sample: Sample) -> Path:
    return cache_dir / f"{hashlib.sha1(str(sample.image.resolve()).encode()).hexdigest()[:16]}.png"


def _cached(cache_dir: Path | None, sample: Sample, make: Callable[[], np.ndarray | None]) -> np.ndarray | None:
    """``make()``, stored as a PNG in ``cache_dir`` (a resumed run reads it back); None is not stored."""
    path = _cache_file(cache_dir, sample) if cache_dir else None
    if path is not None and path.exists():
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


def _stamp(cache_dir: Path, made_with: dict) -> None:
    """Record what a pseudo-mask cache is made with, or refuse a cache made with something else."""
    stamp = cache_dir / "made_with.json"
    made_with = json.loads(json.dumps(made_with))  # as it reads back (tuples as lists)
    if stamp.exists():
        found = json.loads(stamp.read_text())
        if found != made_with:
            changed = sorted(key for key in made_with if found.get(key) != made_with[key])
            raise CrackInputError(f"{cache_dir}: its pseudo-masks were made with other {', '.join(changed)}; "
                                  "give another --cache-dir")
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(made_with, indent=2))


def _made_with(classifier: Classifier, config: PipelineConfig, settings: PseudoMaskSettings) -> dict:
    """What a pseudo-mask cache's targets depend on: its stamp."""
    return {"pseudo_masks": asdict(settings), "teacher_sha256": classifier.card.sha256, "pipeline": config.to_dict()}


def default_cache_dir(classifier: Classifier, config: PipelineConfig = PipelineConfig(),
                      settings: PseudoMaskSettings = PseudoMaskSettings()) -> Path:
    """A pseudo-mask folder in the temp folder named by what its targets depend on, so that other settings
    never meet a cache stamped for these."""
    key = hashlib.sha1(json.dumps(_made_with(classifier, config, settings), sort_keys=True).encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"cracklib_pseudo_{key[:16]}"


def explanation_targets(classifier: Classifier, config: PipelineConfig = PipelineConfig(), *,
                        settings: PseudoMaskSettings = PseudoMaskSettings(), cache_dir: str | Path | None = None):
    """Targets from the explanation pipeline: a function (sample, image) -> uint8 target or None.

    Crack-free by label: all background. Otherwise the pipeline runs; a photo it
    leaves unexplained (called crack-free) gives no target when labelled cracked
    (its crack was missed, not absent) and all background when unlabelled.
    Only ``sample.label`` and the photo are read, never ``sample.mask``. A ``cache_dir`` is stamped with the
    pseudo-mask settings, the teacher and its pipeline on first use, and refused for other ones: its files are
    named by photo only, so another ignore band would otherwise read the old targets.
    """
    cache_dir = Path(cache_dir) if cache_dir else None
    if cache_dir is not None:
        _stamp(cache_dir, _made_with(classifier, config, settings))

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


def student_targets(student: str | Path, mask: MaskSettings = default_mask("distilled"), *,
                    settings: PseudoMaskSettings = PseudoMaskSettings()) -> Targets:
    """Targets from a trained student: its mask, refined on the photo by the pipeline's mask step ``mask``
    (the distilled network's own by default), as a pseudo-mask (:func:`pseudo_mask`)."""

    def target(sample: Sample, image: np.ndarray) -> np.ndarray | None:
        if sample.label == 0:
            return np.zeros(image.shape[:2], np.uint8)
        explanation = explain_with_network(student, image, ExplanationSettings(gate=0.0))
        result = segment_explanation(explanation, mask, photo=image)
        if sample.label == 1 and not result.mask.any():
            return None  # a crack the student missed, not a crack-free photo
        return pseudo_mask(result, settings)

    return target


def agreement(first: Targets, second: Targets) -> Targets:
    """Crack where both teachers say crack, background where both say background, unsure elsewhere; one
    teacher's target alone where the other gives none."""

    def target(sample: Sample, image: np.ndarray) -> np.ndarray | None:
        a, b = first(sample, image), second(sample, image)
        if a is None or b is None:
            return a if b is None else b
        out = np.full(a.shape, IGNORE, np.uint8)
        out[(a == 1) & (b == 1)] = 1
        out[(a == 0) & (b == 0)] = 0
        return out

    return target


#: How a round after the first makes its targets (:func:`distill_and_save`).
ROUND_TEACHERS = ("student", "agreement")


def distill_and_save(teacher: Classifier, data: list[str], out: str | Path, *,
                     config: SegmenterConfig = SegmenterConfig(augment="strong"),
                     pipeline: PipelineConfig = PipelineConfig(), settings: PseudoMaskSettings = PseudoMaskSettings(),
                     rounds: int = 1, round_teacher: str = "student", teachers: dict[str, Classifier] | None = None,
                     crops_per_image: int = 4, max_images: int | None = None, cache_dir: str | Path | None = None,
                     start_from: str | Path | None = None, notes: dict | None = None, resume: bool = False,
                     log=None):
    """Pseudo-masks from ``teacher``'s explanations, a U-Net trained on them, optionally more rounds; saved.

    Parameters
    ----------
    teacher : Classifier
        Whose explanations are the first round's targets.
    data : list of data folders
        Their train splits train, their val splits pick the kept epoch; only image labels are read.
    out : path of the weights file (each round overwrites it; the card says which round it is)
    config, crops_per_image, max_images
        As :func:`cracklib.train.train_unet_and_save`.
    pipeline : PipelineConfig
        The explanation pipeline that draws the first round's masks.
    rounds : int
    round_teacher : one of :data:`ROUND_TEACHERS`
        The targets of rounds after the first.
    teachers : dict, optional
        Data folder name → a classifier that explains that folder instead of ``teacher`` (a per-set model).
    cache_dir : path, optional
        The explanations' pseudo-masks are kept there as PNG (a resumed run reads them back).
    start_from : path, optional
        A student of an earlier round: this run's rounds continue from it (its refined mask is the first
        teacher), instead of starting from the explanations.

    Returns
    -------
    ModelCard
        The model card of the last round.
    """
    if round_teacher not in ROUND_TEACHERS:
        raise ValueError(f"unknown round teacher {round_teacher!r}; choose from {', '.join(ROUND_TEACHERS)}")
    teachers = teachers or {}
    notes = {**(notes or {}), "teacher": str(teacher.path), "teacher_sha256": teacher.card.sha256,
             "teachers": {name: str(own.path) for name, own in teachers.items()}, "pipeline": pipeline.to_dict(),
             "pseudo_masks": asdict(settings), "rounds": rounds, "round_teacher": round_teacher}
    explained = {name: explanation_targets(own, pipeline, settings=settings,
                                           cache_dir=Path(cache_dir) / name if cache_dir else None)
                 for name, own in teachers.items()}
    default = explanation_targets(teacher, pipeline, settings=settings, cache_dir=cache_dir)

    def first_round(sample: Sample, image: np.ndarray) -> np.ndarray | None:
        folder = next((name for name in explained if name in sample.image.parts), None)
        return (explained[folder] if folder else default)(sample, image)

    previous = Path(start_from) if start_from else None
    first = read_card(previous).notes.get("round", 1) + 1 if previous else 1
    notes["start_from"] = str(previous) if previous else None
    card = None
    for round_number in range(first, first + rounds):
        if log:
            print(f"round {round_number} (of {first + rounds - 1})", file=log, flush=True)
        if previous is None:
            targets, made_by = first_round, "explanation pseudo-masks"
        else:
            targets, made_by = student_targets(previous, settings=settings), "the previous round's refined mask"
            if round_teacher == "agreement":
                targets, made_by = agreement(targets, first_round), made_by + " where the explanations agree"
        card = train_unet_and_save(data, out, config=config, crops_per_image=crops_per_image, targets=targets,
                                   max_images=max_images,
                                   pixel_labels="none: image labels and the classifier's explanations "
                                                f"(round {round_number}: {made_by})",
                                   notes={**notes, "round": round_number}, resume=resume, log=log)
        if round_number < first + rounds - 1:
            previous = Path(out).with_name(f"{Path(out).stem}.round{round_number}.pt")
            for source in (Path(out), card_path(out)):  # the next round reads this student, not the file it writes
                shutil.copyfile(source, previous if source.suffix == ".pt" else card_path(previous))
    return card
