"""B-cos networks: a classifier whose explanation is its own dynamic linear map.

A B-cos layer (Böhle et al.) replaces ``w·x + b`` by

    out = (ŵ·x) · |cos(x, ŵ)|^(B-1),    ŵ = w / ‖w‖,  no bias, no ReLU,

so a unit only responds strongly to inputs aligned with its weights. With the
scale factor ``|cos|^(B-1) / ‖x‖``-part held fixed, every layer is linear in its
input; the whole network is then ``f(x) = W(x) x`` exactly (max-pooling selects,
average-pooling averages: both linear), and the contribution of each input
pixel to the crack logit, ``W(x) ⊙ x``, is the explanation. It is computed with
one backward pass in *explanation mode* (:func:`explanation_mode`), where the
dynamic factors are detached: ``x ⊙ ∂f/∂x`` then equals ``W(x) ⊙ x`` and sums to
the logit.

Inputs are encoded as ``[x, 1 − x]`` (six channels, pixels in [0, 1]) as in
Böhle et al., so that dark and bright pixels have the same norm and a dark
crack can contribute as much as a bright one. The network takes the same
normalised inputs as the other classifiers (the encoding undoes the
normalisation first), so tiling, thresholds and pages need nothing new.

Written by hand because no installed library provides B-cos layers (the
authors' code is a research repository, not a package).

References
----------
Böhle, M., Fritz, M., Schiele, B., "B-cos Networks: Alignment is All We Need for
Interpretability", CVPR 2022.
Böhle, M. et al., "B-cos Alignment for Inherently Interpretable CNNs and Vision
Transformers", IEEE TPAMI 2024.
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction, 2024.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BcosConv2d", "BcosLinear", "UncenteredBatchNorm", "InputEncoding", "BcosVGG", "build_bcos_vgg",
           "fold_uncentered_batch_norm", "is_bcos", "explanation_mode", "bcos_contributions"]


#: The alignment exponent B (Forest et al. and Böhle et al. use 2).
B = 2


class _Bcos(nn.Module):
    """What B-cos convolutions and linear layers share: unit-norm weights, the alignment factor, a gain.

    ``gain`` (one per output unit, 1 at first) is where a trained uncentred
    batch norm is folded (:func:`fold_uncentered_batch_norm`): a constant per
    unit, so the network stays a dynamic linear map.
    """

    explaining = False  # set by explanation_mode

    def _unit_weight(self) -> torch.Tensor:
        norms = self.weight.flatten(1).norm(dim=1).clamp_min(1e-12)
        return self.weight / norms.view(-1, *[1] * (self.weight.dim() - 1))

    def _align(self, linear: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
        factor = (linear.abs() / norm) ** (self.b - 1)
        if self.explaining:
            factor = factor.detach()  # the dynamic linear map W(x) is held fixed: out = W(x) x exactly
        gain = self.gain.view(1, -1, *[1] * (linear.dim() - 2))
        return linear * factor * gain


class UncenteredBatchNorm(nn.BatchNorm1d):
    """Batch norm that scales but does not centre (no mean subtracted, no bias): ``x / σ · γ``.

    Böhle et al. (2024) train B-cos networks with it: without a normaliser the
    activations shrink about √(fan-in)-fold per layer at initialisation
    (|out| = ‖x‖ cos², a random cosine is about 1/√(fan-in)) and grow as
    training aligns the weights; measured here, the loss of the 8-layer network
    stayed at log 2 without it. At inference it is a constant per channel,
    folded into the layer before it.
    """

    def __init__(self, channels: int):
        super().__init__(channels, affine=False)
        self.weight = nn.Parameter(torch.ones(channels))  # γ; no β

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = [0] + list(range(2, x.dim()))
        if self.training:
            variance = x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                self.num_batches_tracked += 1
                # momentum None: a cumulative average, as torch's batch norms do
                factor = 1 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_var.mul_(1 - factor).add_(factor * variance.detach())
        else:
            variance = self.running_var
        scale = self.weight / (variance + self.eps).sqrt()
        return x * scale.view(1, -1, *[1] * (x.dim() - 2))


class BcosConv2d(_Bcos):
    """B-cos convolution (stride 1, square kernel, zero padding)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1, *, b: float = B):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.padding, self.b = kernel_size, padding, b
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.register_buffer("gain", torch.ones(out_channels))
        nn.init.kaiming_normal_(self.weight, nonlinearity="linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        linear = F.conv2d(x, self._unit_weight(), padding=self.padding)
        # ‖x‖ over each kernel window, all input channels: the cosine's denominator.
        energy = F.avg_pool2d(x.pow(2).sum(1, keepdim=True), self.kernel_size, stride=1, padding=self.padding,
                              count_include_pad=True) * self.kernel_size ** 2
        return self._align(linear, (energy + 1e-6).sqrt())


class BcosLinear(_Bcos):
    """B-cos fully connected layer."""

    def __init__(self, in_features: int, out_features: int, *, b: float = B):
        super().__init__()
        self.in_features, self.out_features, self.b = in_features, out_features, b
        self.register_buffer("gain", torch.ones(out_features))
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_normal_(self.weight, nonlinearity="linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        linear = F.linear(x, self._unit_weight())
        return self._align(linear, (x.pow(2).sum(1, keepdim=True) + 1e-6).sqrt())


class InputEncoding(nn.Module):
    """Normalised input → pixels in [0, 1] → ``[x, 1 − x]`` (six channels)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        pixels = inputs * self.std + self.mean
        return torch.cat([pixels, 1 - pixels], dim=1)


class BcosVGG(nn.Module):
    """VGG-11's plan with B-cos layers: encoding → features → average pool → B-cos head (2 outputs)."""

    def __init__(self, encoding: InputEncoding, features: nn.Sequential, pool: int, classifier: nn.Sequential):
        super().__init__()
        self.encoding, self.features, self.classifier = encoding, features, classifier
        self.avgpool = nn.AdaptiveAvgPool2d((pool, pool))

    def forward_encoded(self, encoded: torch.Tensor) -> torch.Tensor:
        """The network from the six-channel encoding on (what the contributions are of)."""
        return self.classifier(torch.flatten(self.avgpool(self.features(encoded)), 1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.forward_encoded(self.encoding(inputs))


def build_bcos_vgg(plan: list, *, input_size: int, hidden: int = 128, batch_norm: bool = False,
                   mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)) -> BcosVGG:
    """A B-cos VGG: ``plan`` as VGG's (channels, ``"M"`` for a 2×2 max-pool), a 128-128-2 head.

    ``batch_norm`` adds an :class:`UncenteredBatchNorm` after every layer but
    the last, for training; :func:`fold_uncentered_batch_norm` removes them.
    """
    def normalised(layer, channels):
        return [layer, UncenteredBatchNorm(channels)] if batch_norm else [layer]

    layers, channels = [], 6
    for value in plan:
        if value == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += normalised(BcosConv2d(channels, value), value)
            channels = value
    pool = max(1, input_size // 32)
    head = [*normalised(BcosLinear(channels * pool * pool, hidden), hidden),
            *normalised(BcosLinear(hidden, hidden), hidden), BcosLinear(hidden, 2)]
    return BcosVGG(InputEncoding(mean, std), nn.Sequential(*layers), pool, nn.Sequential(*head))


@torch.no_grad()
def fold_uncentered_batch_norm(model: BcosVGG) -> BcosVGG:
    """``model`` with every :class:`UncenteredBatchNorm` folded into the ``gain`` of the layer before it."""
    for name in ("features", "classifier"):
        kept = []
        for module in getattr(model, name):
            if isinstance(module, UncenteredBatchNorm):
                kept[-1].gain.mul_(module.weight / (module.running_var + module.eps).sqrt())
            else:
                kept.append(module)
        setattr(model, name, nn.Sequential(*kept))
    return model


def is_bcos(model: nn.Module) -> bool:
    """Whether ``model`` is a B-cos network."""
    return isinstance(model, BcosVGG)


@contextmanager
def explanation_mode(model: nn.Module):
    """Hold every B-cos layer's dynamic factor fixed (detached) inside the block; restored on exit."""
    layers = [module for module in model.modules() if isinstance(module, _Bcos)]
    for layer in layers:
        layer.explaining = True
    try:
        yield model
    finally:
        for layer in layers:
            layer.explaining = False


def bcos_contributions(model: BcosVGG, inputs: torch.Tensor, *, target: int = 1) -> torch.Tensor:
    """Contribution of every encoded input value to the ``target`` logit, ``W(x) ⊙ x``: (N, 6, H, W).

    Summed over everything, it equals the logit (to float precision).
    """
    if not is_bcos(model):
        raise ValueError("B-cos contributions need a B-cos network (train --arch vgg11_bcos)")
    with torch.enable_grad(), explanation_mode(model):
        encoded = model.encoding(inputs.detach()).requires_grad_(True)
        output = model.forward_encoded(encoded)[:, target]
        (gradient,) = torch.autograd.grad(output.sum(), encoded)
    return gradient * encoded.detach()
