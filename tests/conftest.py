"""Shared fixtures: a tiny classifier trained on synthetic cracks, written like real weights."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from cracklib.io import write_png
from cracklib.io import crack_image
from cracklib.explain import DamageFree, baselines_path
from cracklib.nets import ModelCard, build_model, save_model
from cracklib.pipeline import load_classifier
from cracklib.train import TrainingConfig, train_classifier
from cracklib.train import synthetic_examples

ROOT = Path(__file__).resolve().parent.parent
torch.set_num_threads(2)


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


def bcos_network(seed: int = 0):
    """A small B-cos VGG whose uncentred batch norms were fitted on one random batch, then folded: untrained,
    but with activations of a sensible size (without the norms they vanish layer by layer)."""
    from cracklib.nets import UncenteredBatchNorm, fold_uncentered_batch_norm

    torch.manual_seed(seed)
    model = build_model("vgg11_bcos", width=0.0625, input_size=64, batch_norm=True)
    for module in model.modules():
        if isinstance(module, UncenteredBatchNorm):
            module.momentum = None  # a cumulative average: one batch sets the statistics
    model.train()
    model(torch.randn(8, 3, 64, 64))
    for module in model.modules():
        if isinstance(module, UncenteredBatchNorm):
            module.weight.data.uniform_(0.5, 2.0)
    return fold_uncentered_batch_norm(model.eval())


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
    with open(tmp_path / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return tmp_path


def with_whole_photo_model(tiny_weights: Path, folder: Path, **card_fields) -> Path:
    """A copy of the tiny weights in ``folder`` whose card names a second copy as its whole-photo model
    (``whole/model.pt``), with ``card_fields`` set on the first card; returns the first weights file."""
    import json
    import shutil

    (folder / "whole").mkdir()
    for suffix in (".pt", ".json"):
        shutil.copy(tiny_weights.with_suffix(suffix), folder / f"model{suffix}")
        shutil.copy(tiny_weights.with_suffix(suffix), folder / "whole" / f"model{suffix}")
    card = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**card, **card_fields, "whole_photo_model": "whole/model.pt"}))
    return folder / "model.pt"


def assert_resumes_to_the_straight_weights(train, checkpoint: Path) -> torch.nn.Module:
    """``train(**options)`` (two epochs) run straight, then stopped after its first epoch and resumed from
    ``checkpoint``: the resumed run trains epochs 1 and 2 and ends at the straight run's weights.
    Returns the straight run's model."""
    straight, _ = train()

    def stop_after_first(stats):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(checkpoint=checkpoint, progress=stop_after_first)
    resumed, history = train(checkpoint=checkpoint, resume=True)
    assert [h.epoch for h in history] == [1, 2]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    return straight
