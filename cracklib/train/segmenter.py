"""Training the U-Net on targets: pixel masks (the supervised reference) or pseudo-masks (self-training).

Targets are uint8 maps: 0 background, 1 crack, :data:`IGNORE` for pixels that count in no loss. The loss
is binary cross-entropy + soft Dice over the pixels that count. Training runs on native-resolution crops
(:func:`crops_from_masks`), with :func:`cracklib.train.loop.fit`; :func:`train_unet_and_save` is the
``train-unet`` command's whole run.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from cracklib.io.datasets import Sample, crack_pixels, read_dataset
from cracklib.io.imageio import read_image
from cracklib.nets.models import ModelCard, Normalization, save_model
from cracklib.nets.preprocess import to_pixels
from cracklib.nets.unet import UNet11
from cracklib.nets.weights import load_segmenter
from cracklib.pipeline.segmenters import TILE
from cracklib.tiling import pad_to_tile
from cracklib.train.augment import flip_and_turn, jitter_brightness, photometric, rescale
from cracklib.train.loop import LoopConfig, Objective, checkpoint_path, fit
from cracklib.train.progress import progress_bar

__all__ = ["AUGMENTATIONS", "IGNORE", "SegmenterConfig", "SegmenterStats", "crops_from_masks", "train_segmenter",
           "save_segmenter", "train_unet_and_save", "segmentation_loss"]


#: How training crops are augmented (:class:`SegmenterConfig` ``augment``).
AUGMENTATIONS = ("mild", "strong")
#: Target value of pixels that count in no loss (the unsure band of a pseudo-mask).
IGNORE = 255


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy + soft Dice over the pixels whose target is 0 or 1 (:data:`IGNORE` is left out).

    ``logits`` N×1×H×W, ``target`` N×H×W uint8. Dice balances the few crack
    pixels against the many background ones; the cross-entropy keeps the
    gradient useful where Dice is flat (crops without a crack).
    """
    logits = logits[:, 0]
    valid = target != IGNORE
    if not valid.any():
        return logits.sum() * 0.0
    truth = (target == 1).float()
    bce = F.binary_cross_entropy_with_logits(logits[valid], truth[valid])
    probability = torch.sigmoid(logits) * valid
    truth = truth * valid
    dice = 1 - (2 * (probability * truth).sum() + 1) / (probability.sum() + truth.sum() + 1)
    return bce + dice


@dataclass
class SegmenterConfig(LoopConfig):
    width: float = 0.25
    #: Side of the training crops (pixels, a multiple of 16).
    crop: int = 128
    epochs: int = 15
    batch_size: int = 16
    jitter: float = 0.1
    #: "mild": flips, turns, brightness and contrast; "strong": zoom, gamma, blur, noise and JPEG as well
    #: (:mod:`cracklib.train.augment`; self-training).
    augment: str = "mild"
    #: Fine-tune: start from this segmentation network's weights (same width) instead of random ones, e.g. the
    #: network trained on all the masked sets, specialised on one of them.
    init_from: str | None = None

    def __post_init__(self):
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {self.augment!r}; choose from {', '.join(AUGMENTATIONS)}")


@dataclass
class SegmenterStats:
    epoch: int
    train_loss: float
    val_loss: float | None
    #: F1 of the val crops' pixels at probability 0.5 (ignored pixels left out).
    val_f1: float | None
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)
    def describe(self) -> str:
        val = f" val loss {self.val_loss:.4f} val F1 {self.val_f1:.3f}" if self.val_loss is not None else ""
        return f"loss {self.train_loss:.4f}{val}"


def _windows(target: np.ndarray, crop: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Top-left corners of ``count`` crops: half centred near crack pixels (when there are any), half anywhere."""
    height, width = target.shape
    corners = []
    cracks = np.argwhere(target == 1)
    for index in range(count):
        if len(cracks) and index % 2 == 0:
            row, col = cracks[rng.integers(len(cracks))]
            top = int(np.clip(row - crop // 2 + rng.integers(-crop // 4, crop // 4 + 1), 0, height - crop))
            left = int(np.clip(col - crop // 2 + rng.integers(-crop // 4, crop // 4 + 1), 0, width - crop))
        else:
            top, left = int(rng.integers(height - crop + 1)), int(rng.integers(width - crop + 1))
        corners.append((top, left))
    return corners


def crops_from_masks(samples: list[Sample], *, crop: int = 128, per_image: int = 8, seed: int = 0,
                     targets: Callable[[Sample, np.ndarray], np.ndarray | None] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Native-resolution training crops and their targets (0 background, 1 crack, :data:`IGNORE`).

    Parameters
    ----------
    samples : list of Sample
    crop : int
        Side of the crops (a photo smaller than that is reflect-padded).
    per_image : int
        Crops per image; half are centred near crack pixels where there are any.
    targets : callable(sample, image) -> (H, W) uint8 or None, optional
        The target of each image. By default its pixel mask (all background for
        an image labelled crack-free without a mask); images without a usable
        target are skipped. Distillation passes pseudo-masks here instead.

    Returns
    -------
    crops : uint8 (N, crop, crop, 3)
    crop_targets : uint8 (N, crop, crop)
    """
    rng = np.random.default_rng(seed)
    targets = targets or _mask_target
    images, labels = [], []
    for index, sample in enumerate(samples, 1):
        image = read_image(sample.image)
        target = targets(sample, image)
        if target is not None:
            image, target = pad_to_tile(image, crop), pad_to_tile(target, crop)
            for top, left in _windows(target, crop, per_image, rng):
                images.append(image[top:top + crop, left:left + crop])
                labels.append(target[top:top + crop, left:left + crop])
        if progress:
            progress(index, len(samples))
    if not images:
        return np.zeros((0, crop, crop, 3), np.uint8), np.zeros((0, crop, crop), np.uint8)
    return np.stack(images), np.stack(labels).astype(np.uint8)


def _mask_target(sample: Sample, image: np.ndarray) -> np.ndarray | None:
    """The pixel mask as a target; all background for a crack-free image without one; None if unusable."""
    truth = crack_pixels(sample, image.shape[:2])
    if truth is None:
        return np.zeros(image.shape[:2], np.uint8) if sample.label == 0 else None
    if sample.label == 1 and not truth.any():
        return None  # a defect image with an empty mask: the mask is wrong, not the image clean
    return truth.astype(np.uint8)


def _initial_segmenter(config: SegmenterConfig) -> UNet11:
    """Random weights, or a copy of the ``init_from`` network's (whose width must be ``config.width``)."""
    if not config.init_from:
        return UNet11(config.width)
    trained, card = load_segmenter(config.init_from, device="cpu")
    if card.width != config.width:
        raise ValueError(f"{config.init_from} is a U-Net of width {card.width}; pass --width {card.width}")
    model = UNet11(card.width)
    model.load_state_dict(trained.state_dict())
    return model


@torch.no_grad()
def _validate(model, crops, targets, normalization, batch_size, device):
    model.eval()
    losses, tp, fp, fn = [], 0, 0, 0
    for first in range(0, len(crops), batch_size):
        pixels = normalization.normalize(to_pixels(crops[first:first + batch_size]).to(device))
        target = torch.from_numpy(targets[first:first + batch_size]).to(device)
        logits = model(pixels.contiguous(memory_format=torch.channels_last))
        losses.append(float(segmentation_loss(logits, target)) * len(target))
        predicted, valid = logits[:, 0] > 0, target != IGNORE
        truth = target == 1
        tp += int((predicted & truth & valid).sum())
        fp += int((predicted & ~truth & valid).sum())
        fn += int((~predicted & truth & valid).sum())
    return sum(losses) / len(crops), 2 * tp / max(1, 2 * tp + fp + fn)


def train_segmenter(crops: np.ndarray, targets: np.ndarray, val_crops: np.ndarray | None = None,
                    val_targets: np.ndarray | None = None, *, config: SegmenterConfig | None = None,
                    normalization: Normalization | None = None,
                    progress: Callable[[SegmenterStats], None] | None = None,
                    batch_progress: Callable[[int, int], None] | None = None,
                    checkpoint: str | Path | None = None, resume: bool = False, log=None):
    """Train a :class:`UNet11` on crops and targets; returns (model in eval mode on the CPU, history).

    The kept weights are those of the epoch with the lowest validation loss (the
    last epoch without validation crops). A checkpoint written after every epoch
    lets a run resume (``resume=True``, same settings and data). ``progress`` is
    called with each epoch's :class:`SegmenterStats`, ``batch_progress`` with
    (batches done, batches per epoch) during an epoch.
    """
    config = config or SegmenterConfig()
    normalization = normalization or Normalization()
    if len(crops) == 0:
        raise ValueError("no training crops: the data holds no usable masks")
    device = torch.device(config.device)

    def batch_loss(model, index, generator):
        index = np.sort(index)
        pixels, target = flip_and_turn(generator, to_pixels(crops[index]), torch.from_numpy(targets[index]))
        if config.augment == "strong":
            if torch.rand(1, generator=generator) < 0.5:
                pixels, target = rescale(generator, pixels, target)
            pixels = photometric(pixels, generator, jitter=config.jitter)
        else:
            pixels = jitter_brightness(pixels, generator, config.jitter)
        pixels = normalization.normalize(pixels.to(device)).contiguous(memory_format=torch.channels_last)
        return segmentation_loss(model(pixels), target.to(device)), {}

    def validate(model):
        loss, f1 = _validate(model, val_crops, val_targets, normalization, config.batch_size * 2, device)
        return {"val_loss": loss, "val_f1": f1}

    def record(epoch, train, val, seconds):
        return SegmenterStats(epoch, train["loss"], val.get("val_loss"), val.get("val_f1"), seconds)

    has_val = val_crops is not None and len(val_crops) > 0
    objective = Objective(batch_loss, record, SegmenterStats, validate if has_val else None)
    return fit(lambda: _initial_segmenter(config), objective, len(crops), config=config, checkpoint=checkpoint,
               resume=resume, progress=progress, batch_progress=batch_progress, log=log)


def save_segmenter(model: UNet11, path: str | Path, *, normalization: Normalization = Normalization(),
                   training_data: dict | None = None, notes: dict | None = None) -> ModelCard:
    """Weights and a card (arch ``unet11``) beside them, as for classifiers."""
    card = ModelCard(arch="unet11", width=model.width, input_size=TILE, normalization=normalization,
                     training_data=training_data or {}, notes=notes or {})
    return save_model(model, path, card)


def _subset(samples: list[Sample], limit: int | None, seed: int) -> list[Sample]:
    """At most ``limit`` of ``samples``, a fixed random subset in their order (all of them without a limit)."""
    if limit is None or len(samples) <= limit:
        return samples
    keep = np.sort(np.random.default_rng(seed).permutation(len(samples))[:limit])
    return [samples[i] for i in keep]


def train_unet_and_save(data: list[str], out: str | Path, *, config: SegmenterConfig = SegmenterConfig(),
                 crops_per_image: int = 6, targets: Callable[[Sample, np.ndarray], np.ndarray | None] | None = None,
                 pixel_labels: str = "pixel masks", notes: dict | None = None, resume: bool = False,
                 groups: list[str] | None = None, max_images: int | None = None, log=None) -> ModelCard:
    """Train a segmenter on the train splits of ``data`` (validated on their val splits) and save it.

    ``targets`` makes each image's target (default: its pixel mask, see
    :func:`crops_from_masks`); crack-free images give a third as many crops as
    the others, all background. ``pixel_labels`` says in the card what the
    targets were made from. ``groups`` keeps only the images of these manifest
    groups (e.g. magnetic tiles' ``crack``, ``blowhole`` and ``free``). ``max_images`` keeps at most that
    many cracked and that many crack-free images of each folder and split (a fixed random subset: a folder of
    thousands of small patches would otherwise outweigh the photo sets).
    """
    start = time.perf_counter()
    splits, sources = {}, {}
    for split in ("train", "val"):
        crops, crop_targets = [], []
        for folder in data:
            samples = read_dataset(folder, split=split, groups=groups)
            bar = progress_bar(len(samples), f"{Path(folder).name}/{split} crops", log)
            cracked = _subset([s for s in samples if s.label != 0], max_images, config.seed)
            clean = _subset([s for s in samples if s.label == 0], max_images, config.seed)
            for group, per_image in ((cracked, crops_per_image), (clean, max(1, crops_per_image // 3))):
                x, y = crops_from_masks(group, crop=config.crop, per_image=per_image, seed=config.seed,
                                        targets=targets, progress=lambda done, total: bar.update(1))
                crops.append(x)
                crop_targets.append(y)
                sources.setdefault(Path(folder).name, {}).setdefault(split, 0)
                sources[Path(folder).name][split] += len(x)
            bar.close()
        splits[split] = (np.concatenate(crops), np.concatenate(crop_targets))
    (x, y), (vx, vy) = splits["train"], splits["val"]
    if log:
        print(f"{len(x)} training crops ({(y == 1).mean():.1%} crack pixels), {len(vx)} validation", file=log)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)  # before the first epoch's checkpoint, not after the run
    model, history = train_segmenter(x, y, vx, vy, config=config, checkpoint=checkpoint_path(out),
                                     resume=resume, log=log)
    card = save_segmenter(model, out, training_data={"sources": sources, "pixel_labels": pixel_labels,
                                                     "crop": config.crop, "crops_per_image": crops_per_image,
                                                     **({"max_images": max_images} if max_images else {}),
                                                     **({"groups": list(groups)} if groups else {})},
                          notes={**(notes or {}), "config": asdict(config),
                                 "history": [h.to_dict() for h in history],
                                 "wall_time_s": round(time.perf_counter() - start, 1)})
    checkpoint_path(out).unlink(missing_ok=True)
    return card
