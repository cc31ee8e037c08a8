"""Shared fixtures (a tiny classifier trained on synthetic cracks, written like real weights) and hooks.

Plain helper functions the tests import are in ``helpers.py``.
"""
from __future__ import annotations

import os

# Before torch is imported (OpenMP reads it once): torch's threads wait for work asleep, not spinning. On a
# machine shared with other work (a CI runner, 2 cores) spinning threads fight the other processes for the
# cores: the fast tier took ten minutes instead of under one. An explicit setting is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import bcos_network

from cracklib.explain import DamageFree, baselines_path
from cracklib.io import crack_image, write_manifest, write_png
from cracklib.nets import ModelCard, build_model, save_model
from cracklib.pipeline import load_classifier
from cracklib.train import TrainingConfig, synthetic_examples, train_classifier

torch.set_num_threads(2)

#: The fast tier's limit per test, the set-up of the fixtures it is the first to ask for included (the tiny
#: classifier, trained once a session, takes about 10 s): a fast test that hangs fails instead of stalling CI.
#: Slow tests keep pytest.ini's global ``timeout``.
FAST_TIMEOUT_S = 60


def pytest_collection_modifyitems(config, items):
    """Every test without the ``slow`` marker (and without a ``timeout`` marker of its own) gets FAST_TIMEOUT_S."""
    for item in items:
        if item.get_closest_marker("slow") is None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(FAST_TIMEOUT_S))


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A width-1/8 VGG11-128 at 64 px trained for a few seconds on synthetic cracks."""
    x, y = synthetic_examples(320, 64, seed=0)
    xv, yv = synthetic_examples(80, 64, seed=1)
    config = TrainingConfig(width=0.125, input_size=64, epochs=8, learning_rate=3e-3, seed=0)
    model, history = train_classifier(x, y, xv, yv, config=config)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    card = ModelCard(arch="vgg11_128", width=0.125, input_size=64,
                     notes={"history": [h.to_dict() for h in history]})
    save_model(model, path, card)
    DamageFree.from_images(x[y == 0].transpose(0, 3, 1, 2) / 255.0).save(baselines_path(path))
    return path


@pytest.fixture(scope="session")
def tiny_classifier(tiny_weights):
    return load_classifier(tiny_weights, device="cpu")


@pytest.fixture
def random_model():
    """An untrained small model whose logits are not tiny (larger FC init)."""
    torch.manual_seed(0)
    model = build_model("vgg11_128", width=0.125, input_size=64).eval()
    for module in model.classifier:
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, 0, 0.2)
    return model


@pytest.fixture
def bcos_model():
    return bcos_network()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def data_folder(tmp_path):
    """A tiny folder in the ../shared/data layout: 6 crack + 4 clean images, test split."""
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    rows = []
    for i in range(10):
        crack = i < 6
        image, mask = crack_image((96, 96), crack=crack, rng=100 + i)
        write_png(tmp_path / "images" / f"{i}.png", image)
        write_png(tmp_path / "masks" / f"{i}.png", mask)
        rows.append({"image": f"images/{i}.png", "mask": f"masks/{i}.png", "label": int(crack),
                     "split": "test" if i % 2 == 0 else "val", "group": "crack" if crack else "free"})
    write_manifest(tmp_path, rows)
    return tmp_path
