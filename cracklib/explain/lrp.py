"""A fast LRP engine for the VGG crack classifiers: relevance at about the cost of one gradient.

zennit computes LRP by hooking every layer and, in the backward pass, running
the layer forward again once per positive/negative combination of inputs and
weights (four for γ and α-β) before taking their gradients. For the networks
shipped here most of that work is zeros: after a ReLU the inputs are never
negative, and a ReLU also zeroes the relevance of every neuron whose output
was negative, so the γ rule's "negative output" half never carries relevance.
This engine uses that:

- one forward pass without autograd keeps every layer's input (and the
  max-pool winners);
- one backward sweep applies each layer's rule in closed form with
  ``conv2d`` / ``conv_transpose2d`` (through ``torch.nn.grad.conv2d_input``):
  ε costs one transposed convolution, γ and z⁺ one extra convolution and one
  transposed convolution, α-β one extra convolution and two transposed ones;
- layers whose input can be negative (the first one) and convolutions not
  followed by a ReLU take the rules' full general form.

It gives zennit's relevance (tests/test_lrp.py: within 1e-4 of the maximum, for
every rule set) without touching the model: no hooks, no modified parameters,
so it needs no clean-up and threads can share a model.

The rules (:class:`cracklib.explain.composites.RuleSpec`) are the ones zennit 0.5.1
implements: Bach et al. 2015 (ε, α-β, z⁺), Montavon et al. 2017 (z^B), Montavon
et al. 2019 (γ), Lapuschkin et al. 2019 (flat); max-pooling passes relevance to
the winner (its gradient), average pooling redistributes in proportion to the
inputs (zennit's ``Norm``), ReLU and dropout pass it through.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.grad import conv2d_input

from cracklib.explain.composites import RuleSpec, rule_specs
from cracklib.nets.models import CRACK_CLASS, Normalization, conv_layer_names

__all__ = ["lrp_relevance", "supports"]


def _stabilize(z: torch.Tensor, epsilon: float, norm_scale: bool = False) -> torch.Tensor:
    """zennit's stabiliser: ``z + ε·sign(z)`` with sign(0) = 1, ε scaled by the RMS of ``z`` per sample."""
    if norm_scale:
        epsilon = epsilon * _rms(z)
    return z + torch.where(z >= 0, epsilon, -epsilon)


@dataclass
class _Step:
    """One layer of the forward pass and what its backward rule needs."""

    module: nn.Module | None  # None for the flatten between pooling and classifier
    input: torch.Tensor
    output: torch.Tensor | None = None
    rule: RuleSpec | None = None
    #: The input is never negative (it comes from a ReLU).
    non_negative: bool = False
    #: The output goes through a ReLU before anything uses it.
    rectified: bool = False
    #: That ReLU's output (rectified steps only).
    activated: torch.Tensor | None = None
    indices: torch.Tensor | None = None


def _layers(model: nn.Module) -> list[tuple[str, nn.Module | None]]:
    """The VGG's layers in forward order: features, pooling, flatten, classifier."""
    return ([(f"features.{name}", module) for name, module in model.features.named_children()]
            + [("avgpool", model.avgpool), ("flatten", None)]
            + [(f"classifier.{name}", module) for name, module in model.classifier.named_children()])


_SUPPORTED = (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.Linear, nn.Dropout)


def supports(model: nn.Module) -> bool:
    """Whether this engine can explain ``model``: a torchvision VGG of plain conv, ReLU, pooling and linear layers."""
    if not all(hasattr(model, part) for part in ("features", "avgpool", "classifier")):
        return False
    for _, module in _layers(model):
        if module is None:
            continue
        if not isinstance(module, _SUPPORTED):
            return False
        if isinstance(module, nn.MaxPool2d) and (module.kernel_size != module.stride or module.padding
                                                 or module.dilation != 1 or module.ceil_mode):
            return False  # overlapping windows: unpooling would not sum like the gradient
        if isinstance(module, nn.Conv2d) and (module.groups != 1 or module.padding_mode != "zeros"):
            return False
    return True


def _forward(model: nn.Module, inputs: torch.Tensor, rules: dict[str, RuleSpec]) -> tuple[list[_Step], torch.Tensor]:
    steps: list[_Step] = []
    x, non_negative = inputs, False
    layers = _layers(model)
    for position, (name, module) in enumerate(layers):
        step = _Step(module, x, non_negative=non_negative, rule=rules.get(name))
        if module is None:
            x = torch.flatten(x, 1)
        elif isinstance(module, nn.MaxPool2d):
            x, step.indices = F.max_pool2d(x, module.kernel_size, module.stride, return_indices=True)
        else:
            x = module(x)
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.AdaptiveAvgPool2d)):
            step.output = x
            following = layers[position + 1][1] if position + 1 < len(layers) else None
            step.rectified = isinstance(following, nn.ReLU)
            if step.rule is None and not isinstance(module, nn.AdaptiveAvgPool2d):
                raise ValueError(f"no LRP rule for layer {name}")
        if isinstance(module, nn.ReLU):
            non_negative = True
            if steps and steps[-1].rectified:
                steps[-1].activated = x
        elif isinstance(module, (nn.Conv2d, nn.Linear)):
            non_negative = False
        steps.append(step)
    return steps, x


def _conv(step: _Step, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    m = step.module
    return F.conv2d(x, weight, bias, m.stride, m.padding, m.dilation)


def _conv_back(step: _Step, grad: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The transposed convolution: the input gradient of the layer with ``weight`` for output gradient ``grad``."""
    m = step.module
    return conv2d_input(step.input.shape, weight, grad, m.stride, m.padding, m.dilation)


def _positive(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.clamp(min=0)


def _conv_rule(step: _Step, relevance: torch.Tensor, normalization: Normalization) -> torch.Tensor:
    rule, x, y = step.rule, step.input, step.output
    weight, bias = step.module.weight, step.module.bias
    stab = rule.stabilizer
    if rule.kind == "epsilon":
        if step.rectified:
            # A ReLU zeroed the relevance wherever y <= 0, so only y > 0 needs zennit's
            # y + ε·sign(y); that ReLU's output max(y, 0) + ε gives it with positive denominators.
            epsilon = rule.epsilon * (_rms(y) if rule.norm_scale else 1.0)
            return x * _conv_back(step, relevance / (step.activated + epsilon), weight)
        return x * _conv_back(step, relevance / _stabilize(y, rule.epsilon, rule.norm_scale), weight)
    if rule.kind == "zbox":
        return _zbox(step, relevance, normalization)
    if rule.kind == "flat":
        ones = torch.ones_like(weight)
        z = _conv(step, torch.ones_like(x), ones, None)  # zennit's flat rule drops the bias
        return _conv_back(step, relevance / _stabilize(z, stab), ones)
    w_pos, w_neg = weight.clamp(min=0), weight.clamp(max=0)
    if rule.kind == "z_plus":
        z = _conv(step, x.clamp(min=0), w_pos, _positive(bias))
        if step.non_negative:  # z >= 0: its stabiliser is + ε
            s = relevance / z.add_(stab)
        else:
            s = relevance / _stabilize(z + _conv(step, x.clamp(max=0), w_neg, None), stab)
        out = x.clamp(min=0) * _conv_back(step, s, w_pos)
        return out if step.non_negative else out + x.clamp(max=0) * _conv_back(step, s, w_neg)
    if rule.kind == "gamma":
        return _gamma(step, relevance, w_pos, w_neg)
    if rule.kind == "alpha_beta":
        return _alpha_beta(step, relevance, w_pos, w_neg)
    raise ValueError(f"unknown rule kind {rule.kind!r}")


def _zbox(step: _Step, relevance: torch.Tensor, normalization: Normalization) -> torch.Tensor:
    """z^B rule for the input layer: the pixel range [low, high] bounds the contributions."""
    x, y, weight, bias = step.input, step.output, step.module.weight, step.module.bias
    low, high = (bound.to(x).view(1, -1, 1, 1) for bound in normalization.bounds())
    # The bounds are constant per channel, so conv(low, w⁺) + conv(high, w⁻) is one
    # convolution of a ones image with w_b = low·w⁺ + high·w⁻, and low·convᵀ(s, w⁺) +
    # high·convᵀ(s, w⁻) is one transposed convolution with w_b.
    bounded = low * weight.clamp(min=0) + high * weight.clamp(max=0)
    bounds = _conv(step, torch.ones_like(x[:1]), bounded, None)
    if bias is not None:  # b − b⁺ − b⁻ = 0: the bias leaves the denominator
        bounds = bounds + bias.view(1, -1, 1, 1)
    s = relevance / _stabilize(y - bounds, step.rule.stabilizer)
    return x * _conv_back(step, s, weight) - _conv_back(step, s, bounded)


def _rms(values: torch.Tensor) -> torch.Tensor:
    """Root mean square per sample, shaped to broadcast."""
    return values.pow(2).mean(dim=tuple(range(1, values.ndim)), keepdim=True).sqrt()


def _gamma(step: _Step, relevance, w_pos, w_neg) -> torch.Tensor:
    """γ rule: outputs > 0 share relevance by ``w + γw⁺`` on x⁺ and ``w + γw⁻`` on x⁻; outputs < 0 the reverse."""
    rule, x, y, bias = step.rule, step.input, step.output, step.module.bias
    gamma, stab, weight = rule.gamma, rule.stabilizer, step.module.weight
    up, down = weight + gamma * w_pos, weight + gamma * w_neg
    if step.non_negative:
        # With q = conv(x, w⁺) + b⁺ (one extra convolution) and y = conv(x, w) + b:
        # conv(x, w + γw⁺) + b + γb⁺ = y + γq and conv(x, w + γw⁻) + b + γb⁻ = (1 + γ)y − γq.
        if step.rectified:
            # A ReLU zeroed the relevance of every output <= 0, so only outputs > 0 count,
            # where z = conv(x, w + γw⁺) + b + γb⁺ >= y > 0; clamping keeps the rest finite.
            # + ε enters through the bias; the clamp (to ε) only touches outputs without relevance.
            shifted = torch.full_like(y[0, :, 0, 0], stab) if bias is None else bias + gamma * bias.clamp(min=0) + stab
            z = _conv(step, x, up, shifted)
            return x * _conv_back(step, relevance / z.clamp_(min=stab), up)
        q = _conv(step, x, w_pos, _positive(bias))
        s = relevance * (y > 0) / _stabilize(y + gamma * q, stab)
        out = x * _conv_back(step, s, up)
        t = relevance * (y < 0) / _stabilize((1 + gamma) * y - gamma * q, stab)
        return out + x * _conv_back(step, t, down)
    x_pos, x_neg = x.clamp(min=0), x.clamp(max=0)
    b_up = None if bias is None else bias + gamma * bias.clamp(min=0)
    b_down = None if bias is None else bias + gamma * bias.clamp(max=0)
    z_up = _conv(step, x_pos, up, b_up) + _conv(step, x_neg, down, None)
    z_down = _conv(step, x_pos, down, b_down) + _conv(step, x_neg, up, None)
    s = relevance * (y > 0) / _stabilize(z_up, stab)
    t = relevance * (y < 0) / _stabilize(z_down, stab)
    return (x_pos * (_conv_back(step, s, up) + _conv_back(step, t, down))
            + x_neg * (_conv_back(step, s, down) + _conv_back(step, t, up)))


def _alpha_beta(step: _Step, relevance, w_pos, w_neg) -> torch.Tensor:
    """α-β rule: α times the relevance shared by positive contributions, minus β times by negative ones."""
    rule, x, y, bias = step.rule, step.input, step.output, step.module.bias
    alpha, beta, stab = rule.alpha, rule.beta, rule.stabilizer
    if step.non_negative:
        z_pos = _conv(step, x, w_pos, _positive(bias))  # >= 0: its stabiliser is + ε
        z_neg = y - z_pos  # = conv(x, w⁻) + b⁻ <= 0: − ε (where it is exactly 0 no input shares in it)
        return x * (alpha * _conv_back(step, relevance / z_pos.add_(stab), w_pos)
                    - beta * _conv_back(step, relevance / z_neg.sub_(stab), w_neg))
    # Signed inputs (the first layer): the four input/weight sign pairs as one convolution
    # with a 2×2 block weight [[w⁺, w⁻], [w⁻, w⁺]] over [x⁺, x⁻], and one transposed convolution.
    x_both = torch.cat([x.clamp(min=0), x.clamp(max=0)], 1)
    blocks = torch.cat([torch.cat([w_pos, w_neg], 1), torch.cat([w_neg, w_pos], 1)], 0)
    biases = None if bias is None else torch.cat([bias.clamp(min=0), bias.clamp(max=0)])
    z_pos, z_neg = _conv(step, x_both, blocks, biases).chunk(2, dim=1)
    shares = torch.cat([alpha * relevance / _stabilize(z_pos, stab), -beta * relevance / _stabilize(z_neg, stab)], 1)
    back = conv2d_input(x_both.shape, blocks, shares, step.module.stride, step.module.padding, step.module.dilation)
    return (x_both * back).view(x.shape[0], 2, *x.shape[1:]).sum(1)


def _linear_rule(step: _Step, relevance: torch.Tensor) -> torch.Tensor:
    rule = step.rule
    if rule.kind != "epsilon":
        raise ValueError(f"the fast LRP engine has no {rule.kind!r} rule for linear layers")
    return step.input * ((relevance / _stabilize(step.output, rule.epsilon, rule.norm_scale)) @ step.module.weight)


def _average_pool_rule(step: _Step, relevance: torch.Tensor) -> torch.Tensor:
    """zennit's Norm: relevance back in proportion to each input's share of the average."""
    s = relevance / _stabilize(step.output, 1e-6)
    if step.output.shape == step.input.shape:
        return step.input * s  # the pooling is an identity at the training input size
    with torch.enable_grad():
        probe = step.input.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(step.module(probe), probe, s)
    return step.input * gradient


def lrp_relevance(model: nn.Module, inputs: torch.Tensor, rule_set: str, normalization: Normalization, *,
                  target: int = CRACK_CLASS) -> torch.Tensor:
    """LRP relevance of ``target`` for every input pixel (N, C, H, W), starting from the target's logit.

    Parameters
    ----------
    model : torchvision VGG in eval mode (see :func:`supports`)
    inputs : Tensor (N, 3, H, W), normalised network inputs
    rule_set : str
        A name from :data:`cracklib.explain.composites.RULE_SETS`.
    normalization : Normalization
        Gives the z^B rule's bounds.

    Returns
    -------
    Tensor (N, C, H, W): the same as zennit's composite of that rule set gives.
    """
    if not supports(model):
        raise ValueError("the fast LRP engine supports plain VGG models only; use the zennit backend")
    names = conv_layer_names(model)
    rules = {names[layer]: spec for layer, spec in rule_specs(rule_set, list(names)).items()}
    with torch.no_grad():
        steps, logits = _forward(model, inputs.detach(), rules)
        relevance = torch.zeros_like(logits)
        relevance[:, target] = logits[:, target]
        for step in reversed(steps):
            module = step.module
            if module is None:
                relevance = relevance.reshape(step.input.shape)
            elif isinstance(module, nn.Linear):
                relevance = _linear_rule(step, relevance)
            elif isinstance(module, nn.Conv2d):
                relevance = _conv_rule(step, relevance, normalization)
            elif isinstance(module, nn.MaxPool2d):
                relevance = F.max_unpool2d(relevance, step.indices, module.kernel_size, module.stride,
                                           output_size=step.input.shape[-2:])
            elif isinstance(module, nn.AdaptiveAvgPool2d):
                relevance = _average_pool_rule(step, relevance)
            # ReLU and dropout (eval) pass relevance through unchanged
    return relevance
