"""Training a crack classifier from image-level labels.

The papers' architecture has no batch norm, and a plain VGG-11 trained from
scratch learns slowly (on these machines it stayed at chance for 5 epochs).
So the network is trained *with* batch norm after every conv, which converges in
a few epochs, and the batch norm is folded into the convs afterwards
(:func:`cracklib.models.fold_batch_norm`): the saved model is the papers'
batch-norm-free VGG with the same outputs, ready for LRP.

Data are in memory: uint8 patches N×S×S×3 and labels (1 = crack), so an epoch
decodes no image. Model and batches are ``channels_last`` (about 1.5× faster
training on x86 CPUs; bf16 autocast was about 20× slower there and
torch.compile gained nothing). A checkpoint written after every epoch lets a
run stop and resume (:func:`train_classifier` with ``checkpoint=``).

*Fine-tuning* (``TrainingConfig.init_from``) starts from trained weights of the
same architecture instead: those are already batch-norm-free and well scaled,
so the network is trained as it is, without batch norm. The papers start from
ImageNet weights; nothing may be downloaded here, so the shipped crack model
plays that part for a new surface (e.g. magnetic tiles).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .decision import DECISION_THRESHOLD
from .metrics import balanced_accuracy
from .models import CRACK_CLASS, ModelCard, Normalization, build_model, fold_batch_norm, load_model
from .preprocess import to_pixels

__all__ = ["TrainingConfig", "EpochStats", "train_classifier", "predict_probabilities", "save_checkpoint",
           "resume_checkpoint"]


@dataclass
class TrainingConfig:
    arch: str = "vgg11_128"
    width: float = 0.25
    input_size: int = 128
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    #: Stop when validation loss has not improved for this many epochs.
    patience: int = 5
    seed: int = 0
    #: Strength of the brightness/contrast jitter (0.1 = ±10 %).
    jitter: float = 0.1
    #: "cpu" or "cuda" (results differ in the last digits between them).
    device: str = "cpu"
    #: Weights file to start from (same arch and width; a larger input widens its head, see
    #: :func:`resized_input`), or None to train from scratch.
    init_from: str | None = None

    def fingerprint(self) -> dict:
        """The settings a checkpoint must share with the run that resumes it (not the device)."""
        return {k: v for k, v in asdict(self).items() if k != "device"}


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


def _augment(pixels: torch.Tensor, generator: torch.Generator, jitter: float) -> torch.Tensor:
    """Random flips, 90° rotations and mild brightness/contrast jitter, per batch."""
    if torch.rand(1, generator=generator) < 0.5:
        pixels = pixels.flip(-1)
    if torch.rand(1, generator=generator) < 0.5:
        pixels = pixels.flip(-2)
    pixels = torch.rot90(pixels, int(torch.randint(4, (1,), generator=generator)), dims=(-2, -1))
    return jitter_brightness(pixels, generator, jitter)


def jitter_brightness(pixels: torch.Tensor, generator: torch.Generator, jitter: float) -> torch.Tensor:
    """Brightness and contrast of each image changed by up to ±``jitter`` (pixels in [0, 1])."""
    n = pixels.shape[0]
    contrast = 1 + jitter * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
    brightness = jitter * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
    mean = pixels.mean(dim=(1, 2, 3), keepdim=True)
    return ((pixels - mean) * contrast + mean + brightness).clamp(0, 1)


@torch.no_grad()
def predict_probabilities(model: torch.nn.Module, images: np.ndarray, normalization: Normalization, *,
                          size: int | None = None, batch_size: int = 64) -> np.ndarray:
    """Crack probability of each uint8 image (N×H×W×3), in batches."""
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        inputs = normalization.normalize(to_pixels(images[start:start + batch_size], size).to(device))
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        out.append(torch.softmax(model(inputs), dim=1)[:, CRACK_CLASS].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


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


def save_checkpoint(path: Path, *, config: dict, n_examples: int, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, scheduler, generator: torch.Generator, **extra) -> None:
    """Write what a training run needs to go on after its last epoch (``extra``: history, best state, …).

    The classifier, the U-Nets and the explainer network all train with this
    pair and :func:`resume_checkpoint`. Written to a temporary name and renamed,
    so a run killed mid-write keeps the previous checkpoint.
    """
    state = dict(config=config, n_examples=n_examples, model=model.state_dict(), optimizer=optimizer.state_dict(),
                 scheduler=scheduler.state_dict(), generator=generator.get_state(),
                 torch_rng=torch.random.get_rng_state(), **extra)  # dropout draws from the global generator
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    temporary.replace(path)


def resume_checkpoint(path: Path | None, *, config: dict, n_examples: int, model: torch.nn.Module,
                      optimizer: torch.optim.Optimizer, scheduler, generator: torch.Generator,
                      device: torch.device | str) -> dict | None:
    """Restore model, optimiser, schedule and random state from ``path`` (:func:`save_checkpoint`).

    Returns
    -------
    The saved dict (its ``history`` and the run's extras), or None where ``path`` is None or missing.

    Raises
    ------
    ValueError
        The checkpoint was written with other settings or another number of examples.
    """
    if path is None or not path.exists():
        return None
    saved = torch.load(path, map_location=device, weights_only=False)
    if saved["config"] != config or saved.get("n_examples") != n_examples:
        raise ValueError(f"{path} was written by a run with other settings or data; delete it or drop --resume")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    generator.set_state(saved["generator"])
    torch.random.set_rng_state(saved["torch_rng"])
    return saved


def train_classifier(train_images: np.ndarray, train_labels: np.ndarray,
                     val_images: np.ndarray | None = None, val_labels: np.ndarray | None = None, *,
                     config: TrainingConfig | None = None, normalization: Normalization | None = None,
                     progress: Callable[[EpochStats], None] | None = None,
                     batch_progress: Callable[[int, int], None] | None = None,
                     checkpoint: str | Path | None = None, resume: bool = False,
                     until_epoch: int | None = None):
    """Train a crack classifier and return it batch-norm-free, in eval mode, on the CPU.

    Parameters
    ----------
    train_images, val_images : uint8 arrays (N, S, S, 3), S = ``config.input_size``
    train_labels, val_labels : int arrays (N,), 1 = crack
    progress : callable, optional
        Called with the :class:`EpochStats` of every epoch.
    batch_progress : callable, optional
        Called with (batches done, batches per epoch) during an epoch.
    checkpoint : path, optional
        Written after every epoch: model, optimiser, schedule, random state,
        history and the best state so far.
    resume : bool
        Continue from ``checkpoint`` if it exists (its settings must equal ``config``'s).
    until_epoch : int, optional
        Stop after this epoch (the learning-rate schedule stays that of
        ``config.epochs``): a run that must end early keeps its best epoch so
        far, and a resumed run that has reached it returns at once.

    Returns
    -------
    model : torchvision VGG (no batch norm), the checkpoint with the lowest
        validation loss (the last one without validation data)
    history : list of EpochStats
    """
    config = config or TrainingConfig()
    normalization = normalization or Normalization()
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    labels = np.asarray(train_labels).astype(np.int64)
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    if (counts == 0).any():
        raise ValueError("training needs images of both classes (crack and no crack)")
    # Class balancing: each class weighs as much as the other in the loss.
    class_weights = counts.sum() / (2 * counts)
    model = _initial_model(config).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = int(np.ceil(len(labels) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate,
                                                    total_steps=max(1, config.epochs * steps_per_epoch))
    weight_tensor = torch.tensor(class_weights, dtype=torch.float32, device=device)
    history: list[EpochStats] = []
    best_state, best_loss, stale, first_epoch = None, np.inf, 0, 1
    checkpoint = Path(checkpoint) if checkpoint else None
    run = dict(config=config.fingerprint(), n_examples=len(labels), model=model, optimizer=optimizer,
               scheduler=scheduler, generator=generator)
    saved = resume_checkpoint(checkpoint, device=device, **run) if resume else None
    if saved:
        history = [EpochStats(**h) for h in saved["history"]]
        best_state, best_loss, stale = saved["best_state"], saved["best_loss"], saved["stale"]
        first_epoch = len(history) + 1
    for epoch in range(first_epoch, min(config.epochs, until_epoch or config.epochs) + 1):
        if stale >= config.patience:
            break
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(labels), generator=generator).numpy()
        total_loss, correct = 0.0, 0
        for step, first in enumerate(range(0, len(order), config.batch_size), 1):
            index = order[first:first + config.batch_size]
            pixels = _augment(to_pixels(train_images[index]), generator, config.jitter)
            pixels = pixels.to(device).contiguous(memory_format=torch.channels_last)
            target = torch.from_numpy(labels[index]).to(device)
            output = model(normalization.normalize(pixels))
            loss = F.cross_entropy(output, target, weight=weight_tensor)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach()) * len(index)
            correct += int((output.argmax(1) == target).sum())
            if batch_progress:
                batch_progress(step, steps_per_epoch)
        val_loss = val_bacc = None
        if val_images is not None and len(val_images):
            val_loss, val_bacc = _evaluate(model, val_images, np.asarray(val_labels).astype(np.int64),
                                           normalization, class_weights, config.batch_size * 2)
        stats = EpochStats(epoch, total_loss / len(labels), correct / len(labels), val_loss, val_bacc,
                           time.perf_counter() - start)
        history.append(stats)
        if val_loss is None or val_loss < best_loss:
            best_loss, stale = (val_loss if val_loss is not None else np.inf), 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        if checkpoint:
            save_checkpoint(checkpoint, **run, history=[h.to_dict() for h in history], best_state=best_state,
                            best_loss=best_loss, stale=stale)
        if progress:
            progress(stats)
    model = model.cpu().to(memory_format=torch.contiguous_format)
    model.load_state_dict(best_state)
    model.eval()
    return fold_batch_norm(model), history
