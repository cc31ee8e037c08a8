"""NN-Explainer: a network trained to mask the evidence a frozen classifier uses.

Stalder et al. train an explainer network next to a frozen classifier: its mask
``m`` (one value in [0, 1] per pixel) must keep what the classifier needs and
nothing else. Forest et al. compare it, for cracks, with the post-hoc methods.
For a two-class crack classifier the losses are, per training image:

- **keep** (crack images): the masked image ``m·x + (1−m)·fill`` is still called
  cracked (cross-entropy towards the crack class);
- **remove** (crack images): the inverse ``(1−m)·x + m·fill`` is not
  (cross-entropy towards crack-free), so the mask must hold *all* the evidence;
- **area**: the mean of the mask, pushed down on every image (a crack-free image
  gets an empty mask) and up to at least ``min_area`` on crack images (so the
  mask cannot vanish), as the paper's area bounds;
- **smoothness**: the total variation of the mask.

``fill`` is each image's mean colour: a crack removed from a patch of concrete
leaves plain concrete, not black. The explainer is this project's small U-Net
(:class:`cracklib.segnet.UNet11`); its sigmoid output is the relevance map of
the method ``nn_explainer``, computed only on the tiles the classifier gates in.

Written by hand: the authors' code is a research repository (and Forest et al.
report it stops with an error at training); no package provides it.

References
----------
Stalder, S. et al., "What You See is What You Classify: Black Box Attributions",
NeurIPS 2022.
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction, 2024.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import CrackInputError
from .models import CRACK_CLASS, ModelCard, Normalization, card_path, read_card, save_model
from .preprocess import to_pixels
from .segnet import UNet11
from .training import jitter_brightness, resume_checkpoint, save_checkpoint

__all__ = ["ExplainerConfig", "ExplainerStats", "explainer_losses", "total_variation", "train_explainer",
           "save_explainer", "load_explainer", "explainer_masks", "fit_explainer_and_save"]


@dataclass
class ExplainerConfig:
    width: float = 0.125
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 1e-3
    #: Weights of the losses (keep and remove weigh 1).
    area_weight: float = 1.0
    smoothness_weight: float = 0.5
    #: A crack image's mask covers at least this share of it (the crack pixels of a 128 px crack patch are
    #: 1-10 % of it in the masked data sets).
    min_area: float = 0.01
    jitter: float = 0.1
    seed: int = 0
    device: str = "cpu"


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


def explainer_masks(explainer: UNet11, inputs: torch.Tensor) -> torch.Tensor:
    """The explainer's mask (N×1×H×W in [0, 1]) of normalised inputs (sides multiples of 16)."""
    return torch.sigmoid(explainer(inputs))


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
                    checkpoint: str | Path | None = None, resume: bool = False) -> tuple[UNet11, list]:
    """Train an explainer against a frozen ``classifier`` on uint8 images (N, S, S, 3), S a multiple of 16.

    Returns the explainer of the last epoch (eval mode, CPU) and the history.
    A checkpoint written after every epoch lets a run resume.
    """
    config = config or ExplainerConfig()
    normalization = normalization or Normalization()
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    classifier = classifier.to(device).eval()
    for parameter in classifier.parameters():
        parameter.requires_grad_(False)
    explainer = UNet11(config.width).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(explainer.parameters(), lr=config.learning_rate)
    labels = np.asarray(labels).astype(np.int64)
    steps = int(np.ceil(len(labels) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate,
                                                    total_steps=max(1, config.epochs * steps))
    history: list[ExplainerStats] = []
    checkpoint = Path(checkpoint) if checkpoint else None
    run = dict(config=asdict(config), n_examples=len(labels), model=explainer, optimizer=optimizer,
               scheduler=scheduler, generator=generator)
    saved = resume_checkpoint(checkpoint, device=device, **run) if resume else None
    if saved:
        history = [ExplainerStats(**h) for h in saved["history"]]
    for epoch in range(len(history) + 1, config.epochs + 1):
        start = time.perf_counter()
        explainer.train()
        order = torch.randperm(len(labels), generator=generator).numpy()
        total = 0.0
        for first in range(0, len(order), config.batch_size):
            index = order[first:first + config.batch_size]
            pixels = jitter_brightness(to_pixels(images[index]), generator, config.jitter)
            inputs = normalization.normalize(pixels.to(device)).contiguous(memory_format=torch.channels_last)
            target = torch.from_numpy(labels[index]).to(device)
            loss = explainer_losses(classifier, explainer_masks(explainer, inputs), inputs, target,
                                    config=config)["total"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(index)
        scores = (None,) * 4
        if val_images is not None and len(val_images):
            scores = _validate(explainer, classifier, val_images, np.asarray(val_labels).astype(np.int64),
                               normalization, config.batch_size * 2, device)
        history.append(ExplainerStats(epoch, total / len(labels), *scores, time.perf_counter() - start))
        if checkpoint:
            save_checkpoint(checkpoint, **run, history=[h.to_dict() for h in history])
        if progress:
            progress(history[-1])
    return explainer.cpu().eval(), history


def save_explainer(explainer: UNet11, path: str | Path, *, classifier_card: ModelCard, classifier_name: str,
                   training_data: dict | None = None, notes: dict | None = None) -> ModelCard:
    """Weights and a card (arch ``nn_explainer``) naming the classifier it explains (file name and sha256)."""
    card = ModelCard(arch="nn_explainer", width=explainer.width, input_size=classifier_card.input_size,
                     normalization=classifier_card.normalization, training_data=training_data or {},
                     notes={**(notes or {}), "classifier": classifier_name,
                            "classifier_sha256": classifier_card.sha256})
    return save_model(explainer, path, card)


@lru_cache(maxsize=4)
def _cached(path: str, stamp: float) -> tuple[UNet11, ModelCard]:
    card = read_card(path)
    if card.arch != "nn_explainer":
        raise CrackInputError(f"{path}: its card says {card.arch}, not an NN-Explainer")
    try:
        explainer = UNet11(card.width)
        explainer.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad file
        raise CrackInputError(f"{path}: cannot read explainer weights ({type(exc).__name__})") from None
    explainer.eval().to(memory_format=torch.channels_last)
    for parameter in explainer.parameters():
        parameter.requires_grad_(False)
    return explainer, card


def load_explainer(path: str | Path) -> tuple[UNet11, ModelCard]:
    """A saved explainer and its card (loaded once per file; reloaded if the file changes)."""
    path = Path(path)
    if not path.exists() or not card_path(path).exists():
        raise CrackInputError(f"{path}: no such NN-Explainer (weights and card)")
    return _cached(str(path), path.stat().st_mtime)


def fit_explainer_and_save(classifier_path: str | Path, data: list[str], out: str | Path, *,
                           config: ExplainerConfig = ExplainerConfig(), max_patches: int = 12,
                           hard_negatives_from: str | None = None, cache_dir: str | Path | None = None, resume: bool = False, command: str | None = None,
                           log=None) -> ModelCard:
    """Train an explainer for a saved classifier on the image labels of ``data`` (train split; val for the scores).

    The examples are the classifier's own kind (whole images and native patches
    at its input size, :func:`cracklib.training_data.cached_examples`); no pixel
    mask is used as a target (masked images only give crack/crack-free patch labels).
    """
    from .models import load_model
    from .training_data import PatchSettings, cached_examples

    start = time.perf_counter()
    classifier, card = load_model(classifier_path, device=config.device)
    classifier = classifier.to(memory_format=torch.contiguous_format)
    arrays, sources, _ = cached_examples(list(data), card.input_size, seed=config.seed,
                                         settings=PatchSettings(max_crack=max_patches, max_clean=max_patches),
                                         hard_negatives_from=hard_negatives_from, cache_dir=cache_dir, log=log)
    x, y, vx, vy = (arrays[k] for k in ("x_train", "y_train", "x_val", "y_val"))
    if log:
        print(f"{len(y)} training images ({int(y.sum())} crack), {len(vy)} validation", file=log, flush=True)

    def report(stats: ExplainerStats) -> None:
        if log:
            print(f"epoch {stats.epoch}/{config.epochs}: loss {stats.train_loss:.4f} val keep {stats.val_keep:.3f} "
                  f"remove {stats.val_remove:.3f} area crack {stats.val_area_crack:.3f} "
                  f"clean {stats.val_area_clean:.3f} ({stats.seconds:.0f} s)", file=log, flush=True)

    out = Path(out)
    explainer, history = train_explainer(classifier, x, y, vx, vy, config=config, normalization=card.normalization,
                                         progress=report, checkpoint=out.with_suffix(".ckpt.pt"), resume=resume)
    saved = save_explainer(explainer, out, classifier_card=card, classifier_name=Path(classifier_path).name,
                           training_data={"sources": sources, "pixel_labels": "none (image labels only)",
                                          "max_patches": max_patches},
                           notes={"command": command, "config": asdict(config),
                                  "history": [h.to_dict() for h in history],
                                  "wall_time_s": round(time.perf_counter() - start, 1)})
    out.with_suffix(".ckpt.pt").unlink(missing_ok=True)
    return saved
