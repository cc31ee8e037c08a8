import hashlib
import json

import pytest
import torch
from helpers import ROOT

from cracklib.errors import CrackInputError
from cracklib.nets import (
    ModelCard,
    Normalization,
    build_model,
    conv_layer_names,
    fold_batch_norm,
    load_model,
    save_model,
    scoring_graph,
)
from cracklib.nets.models import card_path


@pytest.mark.parametrize("arch, fc_layers", [("vgg11_128", 3), ("vgg11_onefc", 1)])
def test_architectures(arch, fc_layers):
    model = build_model(arch, width=0.125, input_size=64).eval()
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 2)
    names = conv_layer_names(model)
    assert [n for n in names if n.startswith("conv")] == [
        "conv1_1", "conv2_1", "conv3_1", "conv3_2", "conv4_1", "conv4_2", "conv5_1", "conv5_2"]
    assert len([n for n in names if n.startswith("fc")]) == fc_layers
    assert not any(getattr(m, "inplace", False) for m in model.modules())


def test_full_width_has_paper_sizes():
    model = build_model("vgg11_128")
    assert model.features[0].out_channels == 64
    assert model.classifier[0].in_features == 512 * 7 * 7
    assert model.classifier[0].out_features == 128


def test_fold_batch_norm_keeps_outputs():
    torch.manual_seed(0)
    model = build_model(width=0.125, input_size=64, batch_norm=True)
    model.train()
    for _ in range(3):  # give the running statistics non-trivial values
        model(torch.randn(8, 3, 64, 64) * 2 + 1)
    model.eval()
    x = torch.randn(4, 3, 64, 64)
    expected = model(x)
    folded = fold_batch_norm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    torch.testing.assert_close(folded(x), expected, rtol=1e-4, atol=1e-4)


def test_zbox_bounds_from_normalization():
    norm = Normalization(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    low, high = norm.bounds()
    assert torch.allclose(low, torch.full((1, 3, 1, 1), -2.0))
    assert torch.allclose(high, torch.full((1, 3, 1, 1), 2.0))


def test_save_and_load_round_trip(tmp_path):
    model = build_model("vgg11_onefc", width=0.125, input_size=64).eval()
    card = save_model(model, tmp_path / "m.pt", ModelCard(arch="vgg11_onefc", width=0.125, input_size=64))
    assert card.sha256 == hashlib.sha256((tmp_path / "m.pt").read_bytes()).hexdigest()  # the file written
    assert json.loads((tmp_path / "m.json").read_text())["arch"] == "vgg11_onefc"
    loaded, loaded_card = load_model(tmp_path / "m.pt", device="cpu")
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded_card.sha256 == card.sha256


def test_bad_weights_are_user_errors(tmp_path):
    with pytest.raises(CrackInputError, match="no such weights"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "junk.json").write_text(ModelCard().to_json())
    with pytest.raises(CrackInputError, match="cannot read weights"):
        load_model(tmp_path / "junk.pt")


@pytest.mark.slow
def test_every_shipped_weights_file_loads_and_matches_its_card():
    weights = sorted((ROOT / "weights").glob("*.pt"))
    assert {p.stem for p in weights} >= {"default", "synthetic_demo"}
    for path in weights:
        assert path.stat().st_size < 50 * 2 ** 20
        card = ModelCard.from_dict(json.loads(card_path(path).read_text()))
        assert card.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), path.name
        size = card.input_size
        if card.arch == "nn_explainer":  # an explainer: a mask per pixel, for the classifier its card names
            from cracklib.nets import load_explainer

            explainer, _ = load_explainer(path)
            assert explainer(torch.zeros(1, 3, size, size)).shape == (1, 1, size, size)
            named = json.loads(card_path(path.with_name(card.notes["classifier"])).read_text())
            assert named["sha256"] == card.notes["classifier_sha256"]
            continue
        model, card = load_model(path, device="cpu")
        assert model(torch.zeros(1, 3, size, size)).shape == (1, 2)


def test_model_names_that_are_paths_are_refused():
    import pytest

    from cracklib.errors import CrackInputError
    from cracklib.nets import checked_model_name

    assert checked_model_name("tiles_v2-b") == "tiles_v2-b"
    for bad in ("../x", "a/b", "", "x" * 65, "..", "/tmp/x", "a b"):
        with pytest.raises(CrackInputError, match="model name"):
            checked_model_name(bad)


def test_the_kept_epoch_is_the_one_with_the_lowest_validation_loss():
    from cracklib.nets import ModelCard

    history = [{"epoch": 1, "val_loss": 0.6, "val_balanced_accuracy": 0.55},
               {"epoch": 2, "val_loss": 0.4, "val_balanced_accuracy": 0.8},
               {"epoch": 3, "val_loss": 0.5, "val_balanced_accuracy": 0.9}]
    assert ModelCard(notes={"history": history}).kept_epoch["epoch"] == 2
    assert ModelCard().kept_epoch is None
    assert ModelCard(notes={"history": [{"epoch": 1, "val_loss": None}]}).kept_epoch is None


def test_the_scoring_graph_classifies_as_the_eager_model():
    """The traced MKL-DNN copy that scores tiles gives the eager model's logits, at any batch size."""
    torch.manual_seed(0)
    model = build_model("vgg11_128", width=0.125, input_size=64).eval().to(memory_format=torch.channels_last)
    scorer = scoring_graph(model, 64)
    assert scorer is not model
    for batch in (1, 5, 16):
        inputs = torch.randn(batch, 3, 64, 64)
        with torch.no_grad():
            assert torch.allclose(scorer(inputs), model(inputs), atol=1e-5)


def test_a_model_the_tracer_cannot_take_is_scored_eagerly():
    class Refuses(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 2)

        def forward(self, inputs):
            raise RuntimeError("not traceable")

    model = Refuses()
    assert scoring_graph(model, 8) is model
