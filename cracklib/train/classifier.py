"""Training a crack classifier from image-level labels, and the ``train`` command's whole run.

The papers' architecture has no batch norm, and a plain VGG-11 trained from
scratch learns slowly (on these machines it stayed at chance for 5 epochs).
So the network is trained *with* batch norm after every conv, which converges in
a few epochs, and the batch norm is folded into the convs afterwards
(:func:`cracklib.nets.fold_batch_norm`): the saved model is the papers'
batch-norm-free VGG with the same outputs, ready for LRP.

*Fine-tuning* (``TrainingConfig.init_from``) starts from trained weights of the
same architecture instead: those are already batch-norm-free and well scaled,
so the network is trained as it is, without batch norm. The papers start from
ImageNet weights; nothing may be downloaded here, so the shipped crack model
plays that part for a new surface (e.g. magnetic tiles).

The epochs, checkpoints and early stop are :func:`cracklib.train.loop.fit`'s.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from cracklib.errors import CrackInputError
from cracklib.explain.baselines import DamageFree, baselines_path
from cracklib.measure.metrics import balanced_accuracy
from cracklib.nets.models import ModelCard, Normalization, build_model, fold_batch_norm, save_model
from cracklib.nets.preprocess import to_pixels
from cracklib.nets.weights import load_model
from cracklib.pipeline.decision import DECISION_THRESHOLD, classifier_scores
from cracklib.train.augment import flip_and_turn, jitter_brightness
from cracklib.train.examples import (
    PatchSettings,
    cached_examples,
    oversample,
    predict_probabilities,
    synthetic_examples,
)
from cracklib.train.loop import LoopConfig, Objective, checkpoint_path, fit

__all__ = ["TrainingConfig", "EpochStats", "train_classifier", "resized_input", "train_and_save"]


@dataclass
class TrainingConfig(LoopConfig):
    arch: str = "vgg11_128"
    width: float = 0.25
    input_size: int = 128
    epochs: int = 20
    batch_size: int = 32
    patience: int | None = 5
    #: Strength of the brightness/contrast jitter (0.1 = ±10 %).
    jitter: float = 0.1
    #: Weights file to start from (same arch and width; a larger input widens its head, see
    #: :func:`resized_input`), or None to train from scratch.
    init_from: str | None = None


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_balanced_accuracy: float | None
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        val_loss = "-" if self.val_loss is None else f"{self.val_loss:.4f}"
        val_bacc = "-" if self.val_balanced_accuracy is None else f"{self.val_balanced_accuracy:.3f}"
        return f"loss {self.train_loss:.4f} acc {self.train_accuracy:.3f} val loss {val_loss} val bacc {val_bacc}"


def _evaluate(model, images, labels, normalization, weights, batch_size):
    model.eval()
    probabilities = predict_probabilities(model, images, normalization, batch_size=batch_size)
    eps = 1e-6
    p = np.clip(probabilities, eps, 1 - eps)
    per = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    loss = float(np.sum(per * weights[labels]) / np.sum(weights[labels]))
    return loss, balanced_accuracy(labels, probabilities >= DECISION_THRESHOLD)


def _initial_model(config: TrainingConfig) -> torch.nn.Module:
    """A fresh model with batch norm, or the ``init_from`` weights (no batch norm) to fine-tune."""
    if not config.init_from:
        return build_model(config.arch, width=config.width, input_size=config.input_size, batch_norm=True)
    model, card = load_model(config.init_from, device="cpu")
    if (card.arch, card.width) != (config.arch, config.width):
        raise ValueError(f"{config.init_from} is {card.arch} width {card.width}; "
                         f"fine-tuning needs {config.arch} width {config.width}")
    if card.input_size != config.input_size:
        model = resized_input(model, card, config.input_size)
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    return model.to(memory_format=torch.contiguous_format)


def resized_input(model: torch.nn.Module, card: ModelCard, input_size: int) -> torch.nn.Module:
    """``model`` (described by ``card``) for a larger input: its convolutions, its first dense layer spread out.

    ``vgg11_128`` average-pools its last feature map to ``size // 32`` cells a side, so a larger input has
    more cells and a wider first dense layer. Each old weight is shared by the k×k new cells it covers
    (k = new cells / old cells) and divided by k², which is exactly the old layer applied to the feature
    map pooled to the old grid: the new model starts as the old one would score the photo at the new size.
    torchvision and zennit have no such transfer, hence it is written here.
    """
    if card.arch != "vgg11_128":
        raise ValueError(f"{card.arch} keeps its input size when fine-tuned")
    old_cells, new_cells = max(1, card.input_size // 32), max(1, input_size // 32)
    if new_cells % old_cells:
        raise ValueError(f"input {card.input_size} px -> {input_size} px: the pooled grid must grow by a whole factor "
                         f"({old_cells} -> {new_cells} cells a side)")
    k = new_cells // old_cells
    resized = build_model(card.arch, width=card.width, input_size=input_size, batch_norm=False)
    state = model.state_dict()
    first = state["classifier.0.weight"]  # (units, channels · old_cells²), flattened channel-major
    units = first.shape[0]
    grid = first.reshape(units, -1, old_cells, old_cells)
    state["classifier.0.weight"] = (grid.repeat_interleave(k, 2).repeat_interleave(k, 3) / k**2).reshape(units, -1)
    resized.load_state_dict(state)
    return resized


def train_classifier(train_images: np.ndarray, train_labels: np.ndarray,
                     val_images: np.ndarray | None = None, val_labels: np.ndarray | None = None, *,
                     config: TrainingConfig | None = None, normalization: Normalization | None = None,
                     progress: Callable[[EpochStats], None] | None = None,
                     batch_progress: Callable[[int, int], None] | None = None,
                     checkpoint: str | Path | None = None, resume: bool = False,
                     until_epoch: int | None = None, log=None):
    """Train a crack classifier and return it batch-norm-free, in eval mode, on the CPU.

    Parameters
    ----------
    train_images, val_images : uint8 arrays (N, S, S, 3), S = ``config.input_size``
    train_labels, val_labels : int arrays (N,), 1 = crack
    config : TrainingConfig
    progress, batch_progress, checkpoint, resume, until_epoch, log
        As :func:`cracklib.train.loop.fit`.

    Returns
    -------
    model : torchvision VGG (no batch norm), the epoch with the lowest
        validation loss (the last one without validation data)
    history : list of EpochStats
    """
    config = config or TrainingConfig()
    normalization = normalization or Normalization()
    device = torch.device(config.device)
    labels = np.asarray(train_labels).astype(np.int64)
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    if (counts == 0).any():
        raise ValueError("training needs images of both classes (crack and no crack)")
    # Class balancing: each class weighs as much as the other in the loss.
    class_weights = counts.sum() / (2 * counts)
    weight_tensor = torch.tensor(class_weights, dtype=torch.float32, device=device)

    def batch_loss(model, index, generator):
        pixels = flip_and_turn(generator, to_pixels(train_images[index]))[0]
        pixels = jitter_brightness(pixels, generator, config.jitter)
        pixels = pixels.to(device).contiguous(memory_format=torch.channels_last)
        target = torch.from_numpy(labels[index]).to(device)
        output = model(normalization.normalize(pixels))
        correct = float((output.argmax(1) == target).sum())
        return F.cross_entropy(output, target, weight=weight_tensor), {"correct": correct}

    def validate(model):
        loss, bacc = _evaluate(model, val_images, np.asarray(val_labels).astype(np.int64), normalization,
                               class_weights, config.batch_size * 2)
        return {"val_loss": loss, "val_balanced_accuracy": bacc}

    def record(epoch, train, val, seconds):
        return EpochStats(epoch, train["loss"], train["correct"], val.get("val_loss"),
                          val.get("val_balanced_accuracy"), seconds)

    has_val = val_images is not None and len(val_images) > 0
    objective = Objective(batch_loss, record, EpochStats, validate if has_val else None)
    model, history = fit(lambda: _initial_model(config), objective, len(labels), config=config,
                         checkpoint=checkpoint, resume=resume, until_epoch=until_epoch, progress=progress,
                         batch_progress=batch_progress, log=log)
    return fold_batch_norm(model), history


def train_and_save(*, data: list[str] | None = None, synthetic: int | None = None, arch: str = "vgg11_128",
                   width: float = 0.25, size: int = 128, epochs: int = 20, batch_size: int = 32,
                   lr: float = 2e-3, seed: int = 0, half: bool = False, out: str | Path,
                   device: str = "cpu", resume: bool = False, hard_negatives_from: str | None = None,
                   patch_settings: PatchSettings = PatchSettings(), cache_dir: str | Path | None = None,
                   init_from: str | None = None, oversample_sources: dict[str, int] | None = None,
                   command: str | None = None, log=sys.stderr, on_epoch: Callable[[EpochStats], None] | None = None,
                   on_batch: Callable[[int, int], None] | None = None, until_epoch: int | None = None,
                   patience: int = TrainingConfig.patience, skipped: list[str] | None = None,
                   names: dict[str, str] | None = None) -> ModelCard:
    """Train on data folders (train split; val split for checkpointing) or on synthetic images,
    then write the weights, the model card and the damage-free baselines.

    Folders without splits (e.g. ``crack/`` and ``no_crack/`` sub-folders) are
    split 80/20 into train and val with ``seed``. ``on_epoch`` and ``on_batch``
    report progress (the app's live chart); ``log`` gets a progress bar with
    ETA and one line per epoch. A checkpoint ``NAME.ckpt.pt`` is written after
    every epoch; ``resume=True`` continues from it. ``init_from`` fine-tunes
    trained weights instead of starting from scratch; ``oversample_sources``
    repeats some folders' training examples (:func:`oversample`).

    A bad manifest row or an unreadable image or mask stops the run with a
    :class:`CrackInputError`; with a ``skipped`` list, it is left out and
    described there instead (one line each), the model card names them too, and
    the run trains on the rest. No readable training image is one error.
    ``names`` maps a data folder to the name its messages and the card use
    (an upload's file name for its temporary folder).
    """
    start = time.perf_counter()
    normalization = Normalization()
    sources: dict = {}
    test_sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if synthetic:
        x_train, y_train = synthetic_examples(synthetic, size, seed=seed)
        x_val, y_val = synthetic_examples(max(20, synthetic // 4), size, seed=seed + 1)
        test_sets["synthetic"] = synthetic_examples(max(20, synthetic // 4), size, seed=seed + 2)
        sources["synthetic"] = {"train": int(len(y_train)), "val": int(len(y_val))}
    else:
        arrays, sources, test_sets = cached_examples(data or [], size, seed=seed, settings=patch_settings,
                                                     hard_negatives_from=hard_negatives_from,
                                                     cache_dir=cache_dir, log=log, skipped=skipped,
                                                     names=names)
        x_train, y_train, x_val, y_val = (arrays[k] for k in ("x_train", "y_train", "x_val", "y_val"))
        if not len(y_train):
            if skipped:
                raise CrackInputError(f"no labelled image in the train split could be read ({len(skipped)} left out; "
                                      f"the first: {skipped[0]})")
            raise CrackInputError("no labelled image in the train split")
        if oversample_sources:
            x_train, y_train = oversample(x_train, y_train, sources, oversample_sources)
    print(f"{len(y_train)} training examples ({int(y_train.sum())} crack), {len(y_val)} validation", file=log)
    config = TrainingConfig(arch=arch, width=width, input_size=size, epochs=epochs, batch_size=batch_size,
                            learning_rate=lr, seed=seed, device=device, patience=patience,
                            init_from=str(init_from) if init_from else None)
    checkpoint = checkpoint_path(out)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    model, history = train_classifier(x_train, y_train, x_val, y_val, config=config, normalization=normalization,
                                      progress=on_epoch, batch_progress=on_batch, checkpoint=checkpoint,
                                      resume=resume, until_epoch=until_epoch, log=log)
    test_metrics = {}
    for name, (x, y) in test_sets.items():
        test_metrics[name] = classifier_scores(y, predict_probabilities(model, x, normalization))
    card = ModelCard(arch=arch, width=width, input_size=size, normalization=normalization,
                     training_data={"sources": sources, "splits": {"train": "train", "validation": "val"},
                                    "patches": vars(patch_settings) if data else None,
                                    "hard_negatives_from": Path(hard_negatives_from).name if hard_negatives_from
                                    else None,
                                    "oversampled": oversample_sources or None,
                                    "fine_tuned_from": Path(init_from).name if init_from else None,
                                    **({"left_out": list(skipped)} if skipped else {})},
                     test_metrics={"classification (whole test images, threshold 0.5)": test_metrics},
                     notes={"command": command, "epochs_run": len(history), "epochs_max": epochs,
                            **({"stopped_after_epoch": until_epoch} if until_epoch and until_epoch < epochs else {}),
                            "seed": seed,
                            "device": device,
                            "wall_time_s": round(time.perf_counter() - start, 1),
                            "train_seconds": round(sum(h.seconds for h in history), 1),
                            "history": [h.to_dict() for h in history],
                            "training": (f"fine-tuned from {Path(init_from).name}, no batch norm" if init_from else
                                         "uncentred batch norm during training, folded into the B-cos layers' "
                                         "gains afterwards" if arch == "vgg11_bcos" else
                                         "batch norm during training, folded into the convs afterwards"),
                            "storage": "float16" if half else "float32"})
    save_model(model, out, card, half=half)
    if not until_epoch or until_epoch >= epochs:
        checkpoint.unlink(missing_ok=True)  # the run is complete: nothing left to resume
    # A sample of the crack-free examples is enough for a mean image (and stays small in memory).
    clean = np.flatnonzero(y_train == 0)
    clean = np.random.default_rng(seed).choice(clean, min(len(clean), 2000), replace=False)
    pixels = x_train[np.sort(clean)].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    DamageFree.from_images(pixels, seed=seed).save(baselines_path(out))
    return card
