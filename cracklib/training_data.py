"""Training examples from data folders (or synthetic images), and the ``train`` command.

From a folder in the ``../shared/data`` layout, every labelled image gives one
example (the whole image resized to the input size). Images with a pixel mask
also give patches cut at their native resolution: a patch is a crack example if
it holds crack pixels and a crack-free example if it holds none (Forest et al.
built their masonry patches this way). Crack-free examples also give the
damage-free baselines stored beside the weights.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .baselines import DamageFree, baselines_path
from .datasets import Sample, assign_splits, crack_pixels, read_dataset
from .evaluation import classifier_scores
from .imageio import read_image
from .models import ModelCard, Normalization, save_model
from .preprocess import to_pixels
from .synthetic import TEXTURES, crack_image
from .training import EpochStats, TrainingConfig, predict_probabilities, train_classifier

__all__ = ["examples_from_samples", "synthetic_examples", "train_and_save"]


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    pixels = to_pixels(image, size)[0].permute(1, 2, 0).numpy()
    return np.round(pixels * 255).astype(np.uint8)


def _patches(image: np.ndarray, truth: np.ndarray, size: int, rng: np.random.Generator, max_negative: int):
    """Non-overlapping native-resolution patches: (patches, labels)."""
    h, w = truth.shape
    crack, clean = [], []
    for top in range(0, h - size + 1, size):
        for left in range(0, w - size + 1, size):
            window = (slice(top, top + size), slice(left, left + size))
            (crack if truth[window].any() else clean).append(image[window])
    if len(clean) > max_negative:
        clean = [clean[i] for i in rng.choice(len(clean), max_negative, replace=False)]
    return crack + clean, [1] * len(crack) + [0] * len(clean)


def examples_from_samples(samples: list[Sample], size: int, *, patches: bool = True, seed: int = 0,
                          progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Whole images (resized) and mask-labelled native patches: uint8 (N, S, S, 3), labels (N,)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for index, sample in enumerate(samples, 1):
        image = read_image(sample.image)
        if sample.label is not None:
            images.append(_resized(image, size))
            labels.append(int(sample.label))
        truth = crack_pixels(sample, image.shape[:2])
        # A defect image whose mask is empty has an unreliable mask: no patches from it.
        if patches and truth is not None and (truth.any() or sample.label == 0):
            cut, cut_labels = _patches(image, truth, size, rng, max_negative=max(2, int(truth.any()) * 4))
            images += cut
            labels += cut_labels
        if progress:
            progress(index, len(samples))
    if not images:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros(0, np.int64)
    return np.stack(images), np.asarray(labels, np.int64)


def synthetic_examples(n: int, size: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic images, half with a crack, both textures."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        crack = i % 2 == 0
        # Photos of varied size, resized to the input as the pipeline does.
        shape = tuple(int(v) for v in rng.integers(size, 4 * size, 2))
        image, _ = crack_image(shape, kind=TEXTURES[(i // 2) % len(TEXTURES)], crack=crack, rng=rng,
                               max_width=rng.uniform(2, 6))
        images.append(_resized(image, size))
        labels.append(int(crack))
    return np.stack(images), np.asarray(labels, np.int64)


def _bar(total, description, log):
    from tqdm import tqdm
    return tqdm(total=total, desc=description, file=log, disable=None, leave=False)


def train_and_save(*, data: list[str] | None = None, synthetic: int | None = None, arch: str = "vgg11_128",
                   width: float = 0.25, size: int = 128, epochs: int = 20, batch_size: int = 32,
                   lr: float = 2e-3, seed: int = 0, half: bool = False, out: str | Path,
                   log=sys.stderr, on_epoch: Callable[[EpochStats], None] | None = None,
                   on_batch: Callable[[int, int], None] | None = None) -> ModelCard:
    """Train on data folders (train split; val split for checkpointing) or on synthetic images,
    then write the weights, the model card and the damage-free baselines.

    Folders without splits (e.g. ``crack/`` and ``no_crack/`` sub-folders) are
    split 80/20 into train and val with ``seed``. ``on_epoch`` and ``on_batch``
    report progress (the app's live chart); ``log`` gets the same as text.
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
        parts = {"train": [], "val": []}
        for folder in data or []:
            every = read_dataset(folder)
            if not any(sample.split for sample in every):
                every = assign_splits(every, seed=seed)
            for split in ("train", "val"):
                samples = [sample for sample in every if sample.split == split]
                bar = _bar(len(samples), f"{Path(folder).name}/{split}", log)
                x, y = examples_from_samples(samples, size, seed=seed, progress=lambda *_: bar.update())
                bar.close()
                parts[split].append((x, y))
                sources.setdefault(Path(folder).name, {})[split] = {"examples": int(len(y)),
                                                                    "crack": int(y.sum())}
            test = [s for s in every if s.split == "test" and s.label is not None]
            if test:
                test_sets[Path(folder).name] = examples_from_samples(test, size, patches=False)
        x_train = np.concatenate([x for x, _ in parts["train"]])
        y_train = np.concatenate([y for _, y in parts["train"]])
        x_val = np.concatenate([x for x, _ in parts["val"]])
        y_val = np.concatenate([y for _, y in parts["val"]])
    config = TrainingConfig(arch=arch, width=width, input_size=size, epochs=epochs, batch_size=batch_size,
                            learning_rate=lr, seed=seed)
    steps = _bar(int(np.ceil(len(y_train) / batch_size)), "epoch 1", log)

    def batch_progress(done, total):
        steps.n = done
        steps.refresh()
        if on_batch:
            on_batch(done, total)

    def epoch_progress(stats: EpochStats):
        steps.set_description(f"epoch {stats.epoch + 1}")
        print(f"epoch {stats.epoch}: loss {stats.train_loss:.4f} acc {stats.train_accuracy:.3f} "
              f"val loss {stats.val_loss if stats.val_loss is None else round(stats.val_loss, 4)} "
              f"val bacc {stats.val_balanced_accuracy} ({stats.seconds:.0f} s)", file=log)
        if on_epoch:
            on_epoch(stats)

    model, history = train_classifier(x_train, y_train, x_val, y_val, config=config, normalization=normalization,
                                      progress=epoch_progress, batch_progress=batch_progress)
    steps.close()
    test_metrics = {}
    for name, (x, y) in test_sets.items():
        test_metrics[name] = classifier_scores(y, predict_probabilities(model, x, normalization))
    card = ModelCard(arch=arch, width=width, input_size=size, normalization=normalization,
                     training_data={"sources": sources, "splits": {"train": "train", "validation": "val"}},
                     test_metrics={"classification (whole test images, threshold 0.5)": test_metrics},
                     notes={"epochs_run": len(history), "epochs_max": epochs, "seed": seed,
                            "wall_time_s": round(time.perf_counter() - start, 1),
                            "history": [h.to_dict() for h in history],
                            "training": "batch norm during training, folded into the convs afterwards",
                            "storage": "float16" if half else "float32"})
    save_model(model, out, card, half=half)
    clean = x_train[y_train == 0]
    DamageFree.from_images(clean.transpose(0, 3, 1, 2) / 255.0, seed=seed).save(baselines_path(out))
    return card
