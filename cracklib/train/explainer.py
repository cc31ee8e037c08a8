"""Training NN-Explainer: a U-Net that learns to mask a frozen classifier's evidence, from image labels.

The losses (Stalder et al.'s NN-Explainer): the masked image must still be called cracked, its inverse
crack-free, the mask small and smooth. Inference (:func:`cracklib.explain.nn_explainer.explainer_masks`) is
in the explain layer; this is the training and the ``train-explainer`` command's whole run.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cracklib.explain.nn_explainer import explainer_masks
from cracklib.nets.models import CRACK_CLASS, ModelCard, Normalization, save_model
from cracklib.nets.preprocess import to_pixels
from cracklib.nets.unet import UNet11
from cracklib.nets.weights import load_model
from cracklib.train.augment import jitter_brightness
from cracklib.train.examples import PatchSettings, cached_examples
from cracklib.train.loop import LoopConfig, Objective, checkpoint_path, fit

__all__ = ["ExplainerConfig", "ExplainerStats", "explainer_losses", "total_variation", "train_explainer",
           "save_explainer", "fit_explainer_and_save"]


@dataclass
class ExplainerConfig(LoopConfig):
    width: float = 0.125
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.01  # AdamW's own default
    #: Weights of the losses (keep and remove weigh 1).
    area_weight: float = 1.0
    smoothness_weight: float = 0.5
    #: A crack image's mask covers at least this share of it (the crack pixels of a 128 px crack patch are
    #: 1-10 % of it in the masked data sets).
    min_area: float = 0.01
    jitter: float = 0.1


@dataclass
class ExplainerStats:
    epoch: int
    train_loss: float
    #: On the validation images: the share of crack images whose masked image is still called cracked, the
    #: share whose inverse is called crack-free, and the mean mask area on crack and crack-free images.
    val_keep: float | None
    val_remove: float | None
    val_area_crack: float | None
    val_area_clean: float | None
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)
    def describe(self) -> str:
        if self.val_keep is None:
            return f"loss {self.train_loss:.4f}"
        return (f"loss {self.train_loss:.4f} val keep {self.val_keep:.3f} remove {self.val_remove:.3f} "
                f"area crack {self.val_area_crack:.3f} clean {self.val_area_clean:.3f}")


def total_variation(masks: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring mask values (N×1×H×W), across and down."""
    return ((masks[..., :, 1:] - masks[..., :, :-1]).abs().mean()
            + (masks[..., 1:, :] - masks[..., :-1, :]).abs().mean())


def _fill(inputs: torch.Tensor) -> torch.Tensor:
    return inputs.mean(dim=(2, 3), keepdim=True).expand_as(inputs)


def explainer_losses(classifier: nn.Module, masks: torch.Tensor, inputs: torch.Tensor, labels: torch.Tensor, *,
                     config: ExplainerConfig = ExplainerConfig()) -> dict[str, torch.Tensor]:
    """The four losses and their weighted sum (``"total"``) for masks (N×1×H×W in [0, 1]) of normalised inputs.

    ``labels`` are 1 for crack images, 0 for crack-free ones.
    """
    fill = _fill(inputs)
    cracked = labels == CRACK_CLASS
    zero = masks.sum() * 0.0
    keep = remove = zero
    if cracked.any():
        m, x, f = masks[cracked], inputs[cracked], fill[cracked]
        crack = torch.full((int(cracked.sum()),), CRACK_CLASS, device=inputs.device)
        keep = F.cross_entropy(classifier(m * x + (1 - m) * f), crack)
        remove = F.cross_entropy(classifier((1 - m) * x + m * f), 1 - crack)
    areas = masks.mean(dim=(1, 2, 3))
    area = areas.mean() + (F.relu(config.min_area - areas[cracked]).sum() / max(1, int(cracked.sum())) * 10)
    smooth = total_variation(masks)
    total = keep + remove + config.area_weight * area + config.smoothness_weight * smooth
    return {"keep": keep, "remove": remove, "area": area, "smoothness": smooth, "total": total}


@torch.no_grad()
def _validate(explainer, classifier, images, labels, normalization, batch_size, device):
    explainer.eval()
    keep, remove, area_crack, area_clean = [], [], [], []
    for first in range(0, len(images), batch_size):
        inputs = normalization.normalize(to_pixels(images[first:first + batch_size]).to(device))
        label = torch.from_numpy(labels[first:first + batch_size]).to(device)
        masks = explainer_masks(explainer, inputs)
        fill = _fill(inputs)
        cracked = label == CRACK_CLASS
        kept = torch.softmax(classifier(masks * inputs + (1 - masks) * fill), 1)[:, CRACK_CLASS]
        removed = torch.softmax(classifier((1 - masks) * inputs + masks * fill), 1)[:, CRACK_CLASS]
        keep += (kept[cracked] >= 0.5).tolist()
        remove += (removed[cracked] < 0.5).tolist()
        areas = masks.mean(dim=(1, 2, 3))
        area_crack += areas[cracked].tolist()
        area_clean += areas[~cracked].tolist()
    mean = lambda values: float(np.mean(values)) if values else None  # noqa: E731
    return mean(keep), mean(remove), mean(area_crack), mean(area_clean)


def train_explainer(classifier: nn.Module, images: np.ndarray, labels: np.ndarray,
                    val_images: np.ndarray | None = None, val_labels: np.ndarray | None = None, *,
                    config: ExplainerConfig | None = None, normalization: Normalization | None = None,
                    progress: Callable[[ExplainerStats], None] | None = None,
                    checkpoint: str | Path | None = None, resume: bool = False,
                    log=None) -> tuple[UNet11, list]:
    """Train an explainer against a frozen ``classifier`` on uint8 images (N, S, S, 3), S a multiple of 16.

    Returns the explainer of the last epoch (eval mode, CPU) and the history.
    A checkpoint written after every epoch lets a run resume.
    """
    config = config or ExplainerConfig()
    normalization = normalization or Normalization()
    device = torch.device(config.device)
    classifier = classifier.to(device).eval()
    for parameter in classifier.parameters():
        parameter.requires_grad_(False)
    labels = np.asarray(labels).astype(np.int64)

    def batch_loss(explainer, index, generator):
        pixels = jitter_brightness(to_pixels(images[index]), generator, config.jitter)
        inputs = normalization.normalize(pixels.to(device)).contiguous(memory_format=torch.channels_last)
        target = torch.from_numpy(labels[index]).to(device)
        return explainer_losses(classifier, explainer_masks(explainer, inputs), inputs, target,
                                config=config)["total"], {}

    def validate(explainer):
        scores = _validate(explainer, classifier, val_images, np.asarray(val_labels).astype(np.int64),
                           normalization, config.batch_size * 2, device)
        return dict(zip(("val_keep", "val_remove", "val_area_crack", "val_area_clean"), scores))

    def record(epoch, train, val, seconds):
        return ExplainerStats(epoch, train["loss"], val.get("val_keep"), val.get("val_remove"),
                              val.get("val_area_crack"), val.get("val_area_clean"), seconds)

    has_val = val_images is not None and len(val_images) > 0
    # The explainer's masks are judged by the classifier, not by a validation loss: the last epoch is kept.
    objective = Objective(batch_loss, record, ExplainerStats, validate if has_val else None, keep_best=False)
    return fit(lambda: UNet11(config.width), objective, len(labels), config=config, checkpoint=checkpoint,
               resume=resume, progress=progress, log=log)


def save_explainer(explainer: UNet11, path: str | Path, *, classifier_card: ModelCard, classifier_name: str,
                   training_data: dict | None = None, notes: dict | None = None) -> ModelCard:
    """Weights and a card (arch ``nn_explainer``) naming the classifier it explains (file name and sha256)."""
    card = ModelCard(arch="nn_explainer", width=explainer.width, input_size=classifier_card.input_size,
                     normalization=classifier_card.normalization, training_data=training_data or {},
                     notes={**(notes or {}), "classifier": classifier_name,
                            "classifier_sha256": classifier_card.sha256})
    return save_model(explainer, path, card)


def fit_explainer_and_save(classifier_path: str | Path, data: list[str], out: str | Path, *,
                           config: ExplainerConfig = ExplainerConfig(), max_patches: int = 12,
                           hard_negatives_from: str | None = None, cache_dir: str | Path | None = None,
                           resume: bool = False, command: str | None = None, log=None) -> ModelCard:
    """Train an explainer for a saved classifier on the image labels of ``data`` (train split; val for the scores).

    The examples are the classifier's own kind (whole images and native patches
    at its input size, :func:`cracklib.train.examples.cached_examples`); no pixel
    mask is used as a target (masked images only give crack/crack-free patch labels).
    """

    start = time.perf_counter()
    classifier, card = load_model(classifier_path, device=config.device)
    classifier = classifier.to(memory_format=torch.contiguous_format)
    arrays, sources, _ = cached_examples(list(data), card.input_size, seed=config.seed,
                                         settings=PatchSettings(max_crack=max_patches, max_clean=max_patches),
                                         hard_negatives_from=hard_negatives_from, cache_dir=cache_dir, log=log)
    x, y, vx, vy = (arrays[k] for k in ("x_train", "y_train", "x_val", "y_val"))
    if log:
        print(f"{len(y)} training images ({int(y.sum())} crack), {len(vy)} validation", file=log, flush=True)

    out = Path(out)
    explainer, history = train_explainer(classifier, x, y, vx, vy, config=config, normalization=card.normalization,
                                         checkpoint=checkpoint_path(out), resume=resume, log=log)
    saved = save_explainer(explainer, out, classifier_card=card, classifier_name=Path(classifier_path).name,
                           training_data={"sources": sources, "pixel_labels": "none (image labels only)",
                                          "max_patches": max_patches},
                           notes={"command": command, "config": asdict(config),
                                  "history": [h.to_dict() for h in history],
                                  "wall_time_s": round(time.perf_counter() - start, 1)})
    checkpoint_path(out).unlink(missing_ok=True)
    return saved
