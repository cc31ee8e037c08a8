"""Segmentation networks: a small U-Net trained on pixel masks, or on explanation masks.

Both papers compare their explanation masks with a supervised U-Net. The same
network also serves self-training (:mod:`cracklib.distill`): trained on the
masks the explanation pipeline draws from image labels alone, it learns what
the explanations agree on and drops part of their noise (König et al. 2021 do
this with CAM pseudo-labels).

The network is TernausNet's UNet11 made small: a VGG-11-style encoder at the
classifier's width (with batch norm, kept at inference: nothing is explained
through it), four 2× downsamplings, a decoder of bilinear upsampling + conv
blocks joined to the encoder by skip connections, one logit per pixel. Trained
on native-resolution crops with Dice + binary cross-entropy (pixels marked
:data:`IGNORE` count in neither), it runs fully convolutionally on tiles of a
photo of any size (:func:`predict_map`).

References
----------
Iglovikov, V. & Shvets, A., "TernausNet: U-Net with VGG11 encoder pre-trained on
ImageNet for image segmentation", arXiv:1801.05746, 2018.
Ronneberger, O. et al., "U-Net: Convolutional networks for biomedical image
segmentation", MICCAI 2015.
König, J. et al., "Weakly-supervised surface crack segmentation by generating
pseudo-labels using localization with a classifier and thresholding", IEEE
T-ITS 23(12), 2022 (arXiv 2021).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .datasets import Sample, crack_pixels
from .errors import CrackInputError
from .imageio import read_image
from .metrics import Confusion, confusion
from .models import WEIGHTS_DIR, ModelCard, Normalization, card_path, default_device, read_card, save_model
from .preprocess import VIEWS, to_pixels
from .tiling import TileBlender, ceil_div, pad_to_tile, tile_grid
from .training import jitter_brightness, resume_checkpoint, save_checkpoint

__all__ = ["UNet11", "IGNORE", "SEGMENTER_METHODS", "segmenter_path", "network_name", "SegmenterConfig",
           "SegmenterStats", "crops_from_masks", "train_segmenter", "predict_map", "view_maps", "score_views",
           "load_segmenter", "save_segmenter", "segmentation_loss"]

#: Target value of pixels that count in no loss (the unsure band of a pseudo-mask).
IGNORE = 255
#: The encoder's channels at width 1 (VGG-11's first four stages and its last).
_STAGES = (64, 128, 256, 512, 512)
#: Photos are cut into tiles of this side for inference (a multiple of 16, the network's total downsampling).
TILE = 256
#: ``--method`` name → the shipped network it runs (in ``weights/segmenters/``).
SEGMENTER_METHODS = {
    "unet": "unet.pt",          # trained on pixel masks: the supervised reference
    "distilled": "distilled.pt",  # trained on the default classifier's explanation masks: image labels only
}
SEGMENTERS_DIR = WEIGHTS_DIR / "segmenters"


def _conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class UNet11(nn.Module):
    """A VGG-11-style U-Net returning one crack logit per pixel (N×1×H×W for N×3×H×W, H and W multiples of 16)."""

    def __init__(self, width: float = 0.25):
        super().__init__()
        c1, c2, c3, c4, c5 = (max(4, int(round(c * width))) for c in _STAGES)
        self.width = width
        self.enc1 = _conv(3, c1)
        self.enc2 = _conv(c1, c2)
        self.enc3 = nn.Sequential(_conv(c2, c3), _conv(c3, c3))
        self.enc4 = nn.Sequential(_conv(c3, c4), _conv(c4, c4))
        self.center = nn.Sequential(_conv(c4, c5), _conv(c5, c5))
        self.dec4 = _conv(c5 + c4, c3)
        self.dec3 = _conv(c3 + c3, c2)
        self.dec2 = _conv(c2 + c2, c1)
        self.dec1 = _conv(c1 + c1, c1)
        self.head = nn.Conv2d(c1, 1, 1)

    @staticmethod
    def _up(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.enc1(x)
        s2 = self.enc2(F.max_pool2d(s1, 2))
        s3 = self.enc3(F.max_pool2d(s2, 2))
        s4 = self.enc4(F.max_pool2d(s3, 2))
        x = self.center(F.max_pool2d(s4, 2))
        x = self.dec4(self._up(x, s4))
        x = self.dec3(self._up(x, s3))
        x = self.dec2(self._up(x, s2))
        x = self.dec1(self._up(x, s1))
        return self.head(x)


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
class SegmenterConfig:
    width: float = 0.25
    #: Side of the training crops (pixels, a multiple of 16).
    crop: int = 128
    epochs: int = 15
    batch_size: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    jitter: float = 0.1
    seed: int = 0
    device: str = "cpu"
    #: Fine-tune: start from this segmentation network's weights (same width) instead of random ones, e.g. the
    #: network trained on all the masked sets, specialised on one of them.
    init_from: str | None = None


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


def _augment(pixels: torch.Tensor, target: torch.Tensor, generator: torch.Generator, jitter: float):
    """The same flips and 90° turns for crops and targets; brightness/contrast jitter for the crops."""
    if torch.rand(1, generator=generator) < 0.5:
        pixels, target = pixels.flip(-1), target.flip(-1)
    if torch.rand(1, generator=generator) < 0.5:
        pixels, target = pixels.flip(-2), target.flip(-2)
    turns = int(torch.randint(4, (1,), generator=generator))
    pixels, target = torch.rot90(pixels, turns, dims=(-2, -1)), torch.rot90(target, turns, dims=(-2, -1))
    return jitter_brightness(pixels, generator, jitter), target


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
                    checkpoint: str | Path | None = None, resume: bool = False):
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
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = _initial_segmenter(config).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = ceil_div(len(crops), config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate,
                                                    total_steps=max(1, config.epochs * steps))
    history: list[SegmenterStats] = []
    best_state, best_loss, first_epoch = None, np.inf, 1
    checkpoint = Path(checkpoint) if checkpoint else None
    run = dict(config=asdict(config), n_examples=len(crops), model=model, optimizer=optimizer, scheduler=scheduler,
               generator=generator)
    saved = resume_checkpoint(checkpoint, device=device, **run) if resume else None
    if saved:
        history = [SegmenterStats(**h) for h in saved["history"]]
        best_state, best_loss = saved["best_state"], saved["best_loss"]
        first_epoch = len(history) + 1
    for epoch in range(first_epoch, config.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(crops), generator=generator).numpy()
        total = 0.0
        for step, first in enumerate(range(0, len(order), config.batch_size), 1):
            index = np.sort(order[first:first + config.batch_size])
            pixels, target = _augment(to_pixels(crops[index]), torch.from_numpy(targets[index]), generator,
                                      config.jitter)
            pixels = normalization.normalize(pixels.to(device)).contiguous(memory_format=torch.channels_last)
            loss = segmentation_loss(model(pixels), target.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(index)
            if batch_progress:
                batch_progress(step, steps)
        val_loss = val_f1 = None
        if val_crops is not None and len(val_crops):
            val_loss, val_f1 = _validate(model, val_crops, val_targets, normalization, config.batch_size * 2,
                                         device)
        stats = SegmenterStats(epoch, total / len(crops), val_loss, val_f1, time.perf_counter() - start)
        history.append(stats)
        if val_loss is None or val_loss < best_loss:
            best_loss = val_loss if val_loss is not None else np.inf
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if checkpoint:
            save_checkpoint(checkpoint, **run, history=[h.to_dict() for h in history], best_state=best_state,
                            best_loss=best_loss)
        if progress:
            progress(stats)
    model = model.cpu().to(memory_format=torch.contiguous_format)
    model.load_state_dict(best_state)
    return model.eval(), history


def _view(image: np.ndarray, turns: int, mirrored: bool) -> np.ndarray:
    image = np.rot90(image, turns)
    return np.ascontiguousarray(image[:, ::-1] if mirrored else image)


def _unview(values: np.ndarray, turns: int, mirrored: bool) -> np.ndarray:
    return np.rot90(values[:, ::-1] if mirrored else values, -turns)


def predict_map(model: UNet11, image: np.ndarray, normalization: Normalization, *, tile: int = TILE,
                overlap: float = 0.25, batch_size: int = 8, views: int = 1,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Crack probability per pixel of a photo of any size: overlapping tiles, blended with a Hann window.

    ``views`` > 1 segments the first ``views`` of the photo's flips and quarter
    turns (``cracklib.preprocess.VIEWS``) and averages their probabilities, turned back
    (test-time augmentation): the network's mistakes in one view are outvoted by
    the others. Each view costs one more pass. With all eight the map turns and
    flips with the photo exactly when the photo is one tile (a test checks it).

    Returns
    -------
    (H, W) float32 in [0, 1]
    """
    if not 1 <= views <= len(VIEWS):
        raise ValueError(f"views must be 1 to {len(VIEWS)}, got {views}")
    total = None
    for values in view_maps(model, image, normalization, views=views, tile=tile, overlap=overlap,
                            batch_size=batch_size, progress=progress):
        total = values if total is None else total + values
    return np.ascontiguousarray(total / views, dtype=np.float32) if views > 1 else total


def view_maps(model: UNet11, image: np.ndarray, normalization: Normalization, *, views: int = len(VIEWS),
              tile: int = TILE, overlap: float = 0.25, batch_size: int = 8,
              progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """The probabilities of each of the first ``views`` of ``image``'s flips and turns
    (:data:`cracklib.preprocess.VIEWS`), each turned back onto it."""
    for index, (turns, mirrored) in enumerate(VIEWS[:views]):
        step = (lambda done, count, index=index: progress(index * count + done, views * count)) if progress else None
        yield _unview(_predict_view(model, _view(image, turns, mirrored), normalization, tile=tile, overlap=overlap,
                                    batch_size=batch_size, progress=step), turns, mirrored)


@torch.no_grad()
def _predict_view(model: UNet11, image: np.ndarray, normalization: Normalization, *, tile: int, overlap: float,
                  batch_size: int, progress: Callable[[int, int], None] | None) -> np.ndarray:
    """:func:`predict_map` of one view."""
    height, width = image.shape[:2]
    padded = pad_to_tile(image, tile)
    grid = tile_grid(padded.shape[:2], size=tile, overlap=overlap)
    blender = TileBlender(padded.shape[:2], tile)
    device = next(model.parameters()).device
    for first in range(0, len(grid), batch_size):
        indices = range(first, min(first + batch_size, len(grid)))
        batch = np.stack([padded[grid.window(i)] for i in indices])
        pixels = normalization.normalize(to_pixels(batch).to(device)).contiguous(memory_format=torch.channels_last)
        maps = torch.sigmoid(model(pixels))[:, 0].float().cpu().numpy()
        for i, values in zip(indices, maps):
            blender.add(grid.origin(i), values)
        if progress:
            progress(indices[-1] + 1, len(grid))
    return blender.result()[:height, :width].copy()


def score_views(model: UNet11, card: ModelCard, samples: list[Sample], *, candidates=(1, 2, 4, 8),
                progress: Callable[[int, int], None] | None = None) -> dict[int, dict[str, float]]:
    """F1 and IoU (summed confusion, the map cut at 0.5) of the network with each number of ``views``.

    Every view of a photo is segmented once; the first k are averaged for each
    candidate k. Only the samples with a pixel mask count. This is what
    ``python -m cracklib choose-views`` reads on the val split.
    """
    totals = {views: Confusion() for views in candidates}
    for index, sample in enumerate(samples, 1):
        image = read_image(sample.image)
        truth = crack_pixels(sample, image.shape[:2])
        if truth is not None:
            maps = list(view_maps(model, image, card.normalization, views=max(candidates)))
            for views in candidates:
                totals[views] += confusion(np.mean(maps[:views], axis=0) > 0.5, truth)
        if progress:
            progress(index, len(samples))
    return {views: {"f1": total.f1, "iou": total.iou} for views, total in totals.items()}


def save_segmenter(model: UNet11, path: str | Path, *, normalization: Normalization = Normalization(),
                   training_data: dict | None = None, notes: dict | None = None) -> ModelCard:
    """Weights and a card (arch ``unet11``) beside them, as for classifiers."""
    card = ModelCard(arch="unet11", width=model.width, input_size=TILE, normalization=normalization,
                     training_data=training_data or {}, notes=notes or {})
    return save_model(model, path, card)


@lru_cache(maxsize=4)
def _cached(path: str, device: str, stamp: float) -> tuple[UNet11, ModelCard]:
    card = read_card(path)
    if card.arch != "unet11":
        raise CrackInputError(f"{path}: its card says {card.arch}, not a segmentation network (unet11)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = UNet11(card.width)
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad file
        raise CrackInputError(f"{path}: cannot read segmentation weights ({type(exc).__name__})") from None
    model.eval().to(device, memory_format=torch.channels_last)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, card


def segmenter_path(method: str, classifier: str | Path | None = None) -> Path:
    """The weights file of a ``--method`` that is a segmentation network.

    A per-data-set classifier ``weights/NAME.pt`` may bring its own network,
    the one chosen on that data set's validation split:
    ``weights/segmenters/NAME/<method>.pt``. When ``classifier`` names such a
    file, that network is the one used (the user picked the classifier for that
    kind of surface); otherwise the general network.
    """
    if method not in SEGMENTER_METHODS:
        raise ValueError(f"{method!r} is not a segmentation network; choose from {', '.join(SEGMENTER_METHODS)}")
    if classifier is not None:
        own = SEGMENTERS_DIR / Path(classifier).stem / SEGMENTER_METHODS[method]
        if own.exists():
            return own
    return SEGMENTERS_DIR / SEGMENTER_METHODS[method]


def network_name(path: str | Path) -> str:
    """How results name a network's weights file: relative to the weights folder when inside it."""
    path = Path(path)
    return path.relative_to(WEIGHTS_DIR).as_posix() if path.is_relative_to(WEIGHTS_DIR) else str(path)


def load_segmenter(path: str | Path, *, device: str | None = None) -> tuple[UNet11, ModelCard]:
    """A saved segmentation network and its card (loaded once per file and device; reloaded if the file changes)."""
    path = Path(path)
    if not path.exists() or not card_path(path).exists():
        raise CrackInputError(f"{path}: no such segmentation network (weights and card)")
    # Either file's change reloads it (``choose-views`` rewrites the card only).
    stamp = max(path.stat().st_mtime, card_path(path).stat().st_mtime)
    return _cached(str(path), str(device or default_device()), stamp)


def fit_and_save(data: list[str], out: str | Path, *, config: SegmenterConfig = SegmenterConfig(),
                 crops_per_image: int = 6, targets: Callable[[Sample, np.ndarray], np.ndarray | None] | None = None,
                 pixel_labels: str = "pixel masks", notes: dict | None = None, resume: bool = False,
                 groups: list[str] | None = None, log=None) -> ModelCard:
    """Train a segmenter on the train splits of ``data`` (validated on their val splits) and save it.

    ``targets`` makes each image's target (default: its pixel mask, see
    :func:`crops_from_masks`); crack-free images give a third as many crops as
    the others, all background. ``pixel_labels`` says in the card what the
    targets were made from. ``groups`` keeps only the images of these manifest
    groups (e.g. magnetic tiles' ``crack``, ``blowhole`` and ``free``).
    """
    from .datasets import read_dataset
    from .training_data import TrainingProgress, _bar

    start = time.perf_counter()
    splits, sources = {}, {}
    for split in ("train", "val"):
        crops, crop_targets = [], []
        for folder in data:
            samples = read_dataset(folder, split=split, groups=groups)
            bar = _bar(len(samples), f"{Path(folder).name}/{split} crops", log)
            cracked = [s for s in samples if s.label != 0]
            clean = [s for s in samples if s.label == 0]
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

    progress = TrainingProgress(config.epochs, ceil_div(len(x), config.batch_size), log)

    def report(stats: SegmenterStats) -> None:
        val = f" val loss {stats.val_loss:.4f} val F1 {stats.val_f1:.3f}" if stats.val_loss is not None else ""
        progress.epoch(stats.epoch, stats.seconds, f"loss {stats.train_loss:.4f}{val}")

    out = Path(out)
    model, history = train_segmenter(x, y, vx, vy, config=config, progress=report, batch_progress=progress.batch,
                                     checkpoint=out.with_suffix(".ckpt.pt"), resume=resume)
    progress.close()
    card = save_segmenter(model, out, training_data={"sources": sources, "pixel_labels": pixel_labels,
                                                     "crop": config.crop, "crops_per_image": crops_per_image,
                                                     **({"groups": list(groups)} if groups else {})},
                          notes={**(notes or {}), "config": asdict(config),
                                 "history": [h.to_dict() for h in history],
                                 "wall_time_s": round(time.perf_counter() - start, 1)})
    out.with_suffix(".ckpt.pt").unlink(missing_ok=True)
    return card
