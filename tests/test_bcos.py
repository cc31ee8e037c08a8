"""B-cos layers and networks (cracklib.nets.bcos): hand-made layers, the dynamic linear map, folding, the method."""
import numpy as np
import pytest
import torch
from helpers import bcos_network

from cracklib.errors import CrackInputError
from cracklib.explain import attribute
from cracklib.nets import (
    BcosConv2d,
    BcosLinear,
    InputEncoding,
    ModelCard,
    UncenteredBatchNorm,
    bcos_contributions,
    build_model,
    explanation_mode,
    fold_uncentered_batch_norm,
    is_bcos,
    load_model,
    save_model,
)


def test_a_bcos_unit_is_its_linear_response_times_its_cosine():
    # Weight (1, 0) on input (3, 4): w·x = 3, ‖x‖ = 5, cos = 0.6, so out = 3 · 0.6 = 1.8 (B = 2).
    layer = BcosLinear(2, 1)
    layer.weight.data = torch.tensor([[2.0, 0.0]])  # the norm does not matter: weights are used as unit vectors
    assert layer(torch.tensor([[3.0, 4.0]])).item() == pytest.approx(1.8)
    assert layer(torch.tensor([[-3.0, 4.0]])).item() == pytest.approx(-1.8)  # the sign of w·x is kept


def test_a_bcos_convolution_uses_the_norm_of_each_window():
    conv = BcosConv2d(1, 1, kernel_size=1, padding=0)
    conv.weight.data = torch.ones(1, 1, 1, 1)
    x = torch.tensor([[[[2.0, -3.0]]]])
    # A 1×1 window of one channel is perfectly aligned or opposed: out = x · |cos| = x.
    assert torch.allclose(conv(x), x)


def test_the_input_encoding_is_pixels_and_their_complement():
    encoding = InputEncoding((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    inputs = torch.full((1, 3, 2, 2), 1.0)  # pixel 0.75
    encoded = encoding(inputs)
    assert encoded.shape == (1, 6, 2, 2)
    assert torch.allclose(encoded[:, :3], torch.tensor(0.75)) and torch.allclose(encoded[:, 3:], torch.tensor(0.25))


def test_the_contributions_sum_to_the_logit_exactly():
    model = bcos_network()
    inputs = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        logits = model(inputs)
    contributions = bcos_contributions(model, inputs)
    assert contributions.shape == (3, 6, 64, 64)
    np.testing.assert_allclose(contributions.sum(dim=(1, 2, 3)).numpy(), logits[:, 1].numpy(), rtol=1e-4, atol=1e-5)
    # Explanation mode is left on exit: gradients of the model are the full ones again.
    assert not any(getattr(m, "explaining", False) for m in model.modules())


def test_folding_the_batch_norm_keeps_the_outputs():
    torch.manual_seed(0)
    model = build_model("vgg11_bcos", width=0.0625, input_size=64, batch_norm=True)
    model.train()
    model(torch.randn(8, 3, 64, 64))  # running statistics from one batch
    for module in model.modules():
        if isinstance(module, UncenteredBatchNorm):
            module.weight.data.uniform_(0.5, 2.0)
    model.eval()
    inputs = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = model(inputs)
        after = fold_uncentered_batch_norm(model)(inputs)
    assert not any(isinstance(m, UncenteredBatchNorm) for m in model.modules())
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-6)


def test_explanation_mode_changes_the_gradient_not_the_output():
    model = bcos_network()
    inputs = torch.randn(1, 3, 64, 64, requires_grad=True)
    plain = model(inputs)
    with explanation_mode(model):
        fixed = model(inputs)
    torch.testing.assert_close(fixed, plain)


def test_a_bcos_model_saves_and_loads_with_its_gains(tmp_path):
    model = bcos_network()
    save_model(model, tmp_path / "b.pt", ModelCard(arch="vgg11_bcos", width=0.0625, input_size=64))
    loaded, card = load_model(tmp_path / "b.pt", device="cpu")
    assert is_bcos(loaded) and card.arch == "vgg11_bcos"
    inputs = torch.randn(1, 3, 64, 64)
    # loaded in channels_last, which sums in another order: equal to float precision
    torch.testing.assert_close(loaded(inputs), model(inputs), rtol=1e-4, atol=1e-4)


def test_the_method_bcos_is_the_channel_sum_of_the_contributions():
    model = bcos_network()
    inputs = torch.randn(2, 3, 64, 64)
    relevance = attribute(model, inputs, "bcos")
    np.testing.assert_allclose(relevance, bcos_contributions(model, inputs).sum(1).numpy(), rtol=1e-5, atol=1e-7)


def test_lrp_refuses_a_bcos_network_and_bcos_refuses_a_relu_network():
    relu = build_model("vgg11_128", width=0.0625, input_size=64).eval()
    with pytest.raises(CrackInputError, match="B-cos"):
        attribute(bcos_network(), torch.randn(1, 3, 64, 64), "lrp")
    with pytest.raises(CrackInputError, match="B-cos"):
        attribute(relu, torch.randn(1, 3, 64, 64), "bcos")
