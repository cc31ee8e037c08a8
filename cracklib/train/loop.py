"""The one training loop: the classifier, the U-Nets and NN-Explainer all train with :func:`fit`.

What every network's training shares lives here once: the seeds, AdamW, the
one-cycle learning-rate schedule, a checkpoint after every epoch and
``--resume`` from it, the progress bar, keeping the epoch with the lowest
validation loss, and early stopping. What differs (the loss of a batch, the
validation figures, the epoch's record) comes in as a :class:`Objective`.

Data are in memory (uint8 arrays), so an epoch is a shuffled pass over example
indices. Model and batches are ``channels_last`` (about 1.5× faster on x86
CPUs; bf16 autocast was about 20× slower there and torch.compile gained
nothing).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from cracklib.tiling import ceil_div
from cracklib.train.progress import TrainingProgress

__all__ = ["LoopConfig", "Objective", "fit", "save_checkpoint", "resume_checkpoint", "checkpoint_path"]


@dataclass
class LoopConfig:
    """The settings every training run has; each network's config adds its own and sets its own defaults."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    #: Stop when the validation loss has not fallen for this many epochs (None: never stop early).
    patience: int | None = None
    seed: int = 0
    #: "cpu" or "cuda" (results differ in the last digits between them).
    device: str = "cpu"

    def fingerprint(self) -> dict:
        """The settings a checkpoint must share with the run that resumes it (not the device)."""
        return {k: v for k, v in asdict(self).items() if k != "device"}


@dataclass
class Objective:
    """What one kind of network adds to the loop.

    Attributes
    ----------
    batch_loss : callable(model, indices, generator) -> (loss, sums)
        The loss of the training examples ``indices`` (a sorted or shuffled
        int array), and figures summed over them (e.g. ``{"correct": 12}``).
    record : callable(epoch, train, val, seconds) -> stats
        The epoch's record (a dataclass with ``to_dict`` and, where validation
        data exist, ``val_loss``) from the means of the training sums
        (``train["loss"]`` and one per figure) and ``validate``'s figures.
    record_type : type
        The record's class, to read a resumed run's history back.
    validate : callable(model) -> dict, optional
        Figures on the validation data (``val_loss`` among them to keep the best epoch).
    keep_best : bool
        Keep the epoch with the lowest validation loss (else the last epoch).
    """

    batch_loss: Callable[[nn.Module, np.ndarray, torch.Generator], tuple[torch.Tensor, dict[str, float]]]
    record: Callable[[int, dict, dict, float], Any]
    record_type: type
    validate: Callable[[nn.Module], dict] | None = None
    keep_best: bool = True


def checkpoint_path(weights: str | Path) -> Path:
    """``NAME.ckpt.pt`` beside ``NAME.pt``: the per-epoch training checkpoint."""
    weights = Path(weights)
    return weights.with_name(weights.stem + ".ckpt.pt")


def save_checkpoint(path: Path, *, config: dict, n_examples: int, model: nn.Module,
                    optimizer: torch.optim.Optimizer, scheduler, generator: torch.Generator, **extra) -> None:
    """Write what a training run needs to go on after its last epoch (``extra``: history, best state, …).

    Written to a temporary name and renamed, so a run killed mid-write keeps the previous checkpoint.
    """
    state = dict(config=config, n_examples=n_examples, model=model.state_dict(), optimizer=optimizer.state_dict(),
                 scheduler=scheduler.state_dict(), generator=generator.get_state(),
                 torch_rng=torch.random.get_rng_state(), **extra)  # dropout draws from the global generator
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    temporary.replace(path)


def resume_checkpoint(path: Path | None, *, config: dict, n_examples: int, model: nn.Module,
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
    # A checkpoint holds the optimiser's state and the random generators' states, not weights alone.
    saved = torch.load(path, map_location=device, weights_only=False)
    if saved["config"] != config or saved.get("n_examples") != n_examples:
        raise ValueError(f"{path} was written by a run with other settings or data; delete it or drop --resume")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    generator.set_state(saved["generator"])
    torch.random.set_rng_state(saved["torch_rng"])
    return saved


def _state(model: nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def fit(build: Callable[[], nn.Module], objective: Objective, n_examples: int, *, config: LoopConfig,
        checkpoint: str | Path | None = None, resume: bool = False, until_epoch: int | None = None,
        progress: Callable[[Any], None] | None = None, batch_progress: Callable[[int, int], None] | None = None,
        log=None) -> tuple[nn.Module, list]:
    """Train the network ``build()`` makes on ``n_examples`` examples; returns (model, history).

    Parameters
    ----------
    build : callable() -> nn.Module
        Called after the seeds are set, so its random weights are the seed's.
    objective : Objective
    n_examples : int
        Training examples; an epoch visits each once, in batches of ``config.batch_size``.
    config : LoopConfig
    checkpoint : path, optional
        Written after every epoch: model, optimiser, schedule, random state,
        history and the best state so far.
    resume : bool
        Continue from ``checkpoint`` if it exists (its settings must equal ``config``'s).
    until_epoch : int, optional
        Stop after this epoch (the learning-rate schedule stays that of
        ``config.epochs``): a run that must end early keeps its best epoch so
        far, and a resumed run that has reached it returns at once.
    progress, batch_progress : callable, optional
        Called with each epoch's record, and with (batches done, batches per epoch).
    log : text stream, optional
        Gets a progress bar and one line per epoch with the time left.

    Returns
    -------
    model : the kept epoch's weights (:attr:`Objective.keep_best`), in eval mode, on the CPU
    history : list of the epochs' records
    """
    if n_examples == 0:
        raise ValueError("no training examples")
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build().to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = ceil_div(n_examples, config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate,
                                                    total_steps=max(1, config.epochs * steps))
    history: list = []
    best_state, best_loss, stale = None, np.inf, 0
    checkpoint = Path(checkpoint) if checkpoint else None
    run = dict(config=config.fingerprint(), n_examples=n_examples, model=model, optimizer=optimizer,
               scheduler=scheduler, generator=generator)
    saved = resume_checkpoint(checkpoint, device=device, **run) if resume else None
    if saved:
        history = [objective.record_type(**h) for h in saved["history"]]
        best_state, best_loss, stale = saved["best_state"], saved["best_loss"], saved["stale"]
    bar = TrainingProgress(config.epochs, steps, log)
    last_epoch = min(config.epochs, until_epoch or config.epochs)
    for epoch in range(len(history) + 1, last_epoch + 1):
        if config.patience is not None and stale >= config.patience:
            break
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n_examples, generator=generator).numpy()
        sums: dict[str, float] = {"loss": 0.0}
        for step, first in enumerate(range(0, n_examples, config.batch_size), 1):
            index = order[first:first + config.batch_size]
            loss, figures = objective.batch_loss(model, index, generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            sums["loss"] += float(loss.detach()) * len(index)
            for name, value in figures.items():
                sums[name] = sums.get(name, 0.0) + value
            bar.batch()
            if batch_progress:
                batch_progress(step, steps)
        val = {}
        if objective.validate is not None:
            model.eval()
            val = objective.validate(model)
        stats = objective.record(epoch, {k: v / n_examples for k, v in sums.items()}, val,
                                 time.perf_counter() - start)
        history.append(stats)
        val_loss = getattr(stats, "val_loss", None)
        if not objective.keep_best or val_loss is None or val_loss < best_loss:
            best_loss, stale = (val_loss if val_loss is not None else np.inf), 0
            best_state = _state(model)
        else:
            stale += 1
        if checkpoint:
            save_checkpoint(checkpoint, **run, history=[h.to_dict() for h in history], best_state=best_state,
                            best_loss=best_loss, stale=stale)
        bar.epoch(epoch, stats.seconds, stats.describe())
        if progress:
            progress(stats)
    bar.close()
    model = model.cpu().to(memory_format=torch.contiguous_format)
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), history
