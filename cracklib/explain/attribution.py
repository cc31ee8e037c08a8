"""Attribution methods: one registry, name → method, always explaining the crack class.

Every method takes the model and a batch of network inputs (N, 3, H, W) and
returns a relevance map per input at input resolution, channels summed:
(N, H, W), positive where the evidence speaks for a crack.

- ``lrp``: layer-wise relevance propagation with a named rule set
  (:mod:`cracklib.explain.composites`), by cracklib's fast engine (:mod:`cracklib.explain.lrp`,
  the default) or by zennit (``lrp_backend="zennit"``, the reference);
- ``integrated_gradients``, ``deeplift``, ``input_x_gradient``,
  ``gradient_shap``, ``deeplift_shap``: captum, with a baseline
  (:mod:`cracklib.explain.baselines`);
- ``bcos``: a B-cos network's own dynamic linear map, W(x) ⊙ x
  (:mod:`cracklib.nets.bcos`; only for B-cos networks);
- ``nn_explainer``: the mask of an explainer network trained against the
  classifier (:mod:`cracklib.train.explainer`, Stalder et al.);
- ``grad_cam``, ``smoothgrad``, ``saliency``: cheap extras (captum).

zennit's rules and captum's DeepLift modify the model through hooks while they
run, so every call holds a per-model lock: concurrent sessions sharing one cached
model never see each other's hooks.
"""
from __future__ import annotations

import threading
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import (
    DeepLift,
    DeepLiftShap,
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    LayerGradCam,
    NoiseTunnel,
    Saliency,
)
from torch import nn

from cracklib.errors import CrackInputError
from cracklib.explain.baselines import BASELINES, DamageFree, baseline_distribution, baseline_for
from cracklib.explain.composites import rule_set_composite
from cracklib.explain.lrp import lrp_relevance, supports
from cracklib.explain.nn_explainer import explainer_masks
from cracklib.nets.bcos import BcosConv2d, bcos_contributions, is_bcos
from cracklib.nets.models import CRACK_CLASS, Normalization

__all__ = ["METHODS", "BASELINE_METHODS", "DISTRIBUTION_METHODS", "baselines_for", "LRP_BACKENDS",
           "AttributionSettings", "attribute", "model_lock", "zennit_lrp"]


#: Who computes LRP: cracklib's engine or zennit.
LRP_BACKENDS = ("fast", "zennit")


@dataclass
class AttributionSettings:
    """Options shared by the methods; each method reads the ones it needs."""

    normalization: Normalization = field(default_factory=Normalization)
    rules: str = "seibold"
    #: "fast" (cracklib.explain.lrp; zennit for models it does not support) or "zennit".
    lrp_backend: str = "fast"
    baseline: str = "zeros"
    damage_free: DamageFree | None = None
    #: The explainer network of ``nn_explainer`` (cracklib.train.explainer), trained against the model explained.
    explainer: nn.Module | None = None
    #: Integration steps of Integrated Gradients.
    steps: int = 32
    #: Noisy samples of SmoothGrad and GradientSHAP.
    samples: int = 16
    seed: int = 0


_LOCKS: "weakref.WeakKeyDictionary[nn.Module, threading.RLock]" = weakref.WeakKeyDictionary()


_LOCKS_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """The lock that serialises hook-based work on ``model``."""
    with _LOCKS_GUARD:
        if model not in _LOCKS:
            _LOCKS[model] = threading.RLock()
        return _LOCKS[model]


def _lrp(model, inputs, settings):
    if is_bcos(model):
        raise CrackInputError("LRP's rules are for ReLU networks; this is a B-cos network: use the method bcos")
    if settings.lrp_backend not in LRP_BACKENDS:
        raise ValueError(f"unknown LRP backend {settings.lrp_backend!r}; choose from {', '.join(LRP_BACKENDS)}")
    if settings.lrp_backend == "fast" and supports(model):
        return lrp_relevance(model, inputs, settings.rules, settings.normalization)
    return zennit_lrp(model, inputs, settings.rules, settings.normalization)


def zennit_lrp(model: nn.Module, inputs: torch.Tensor, rule_set: str, normalization: Normalization, *,
               target: int = CRACK_CLASS) -> torch.Tensor:
    """LRP relevance (N, C, H, W) of ``target`` with zennit's composite of ``rule_set``: the reference.

    Starts from the target's logit itself, so relevance sums to the logit where
    the rules conserve it. The composite's hooks are removed on return, even
    after an error (zennit's context manager); callers sharing the model hold
    :func:`model_lock`.
    """
    inputs = inputs.detach().clone().requires_grad_(True)
    with torch.enable_grad(), rule_set_composite(rule_set, model, normalization).context(model) as modified:
        output = modified(inputs)
        start = torch.zeros_like(output)
        start[:, target] = output[:, target]
        (relevance,) = torch.autograd.grad(output, inputs, start)
    return relevance


def _integrated_gradients(model, inputs, settings):
    baselines = baseline_for(settings.baseline, inputs, settings.normalization, settings.damage_free)
    return IntegratedGradients(model).attribute(inputs, baselines=baselines, target=CRACK_CLASS,
                                                n_steps=settings.steps, internal_batch_size=16)


def _deeplift(model, inputs, settings):
    baselines = baseline_for(settings.baseline, inputs, settings.normalization, settings.damage_free)
    return DeepLift(model).attribute(inputs, baselines=baselines, target=CRACK_CLASS)


def _input_x_gradient(model, inputs, settings):
    return InputXGradient(model).attribute(inputs, target=CRACK_CLASS)


def _gradient_shap(model, inputs, settings):
    baselines = baseline_distribution(settings.baseline, inputs, settings.normalization, settings.damage_free)
    torch.manual_seed(settings.seed)
    return GradientShap(model).attribute(inputs, baselines=baselines, target=CRACK_CLASS,
                                         n_samples=settings.samples, stdevs=0.0)


def _deeplift_shap(model, inputs, settings):
    baselines = baseline_distribution(settings.baseline, inputs, settings.normalization, settings.damage_free)
    return DeepLiftShap(model).attribute(inputs, baselines=baselines, target=CRACK_CLASS)


def _bcos(model, inputs, settings):
    if not is_bcos(model):
        raise CrackInputError("the method bcos explains a B-cos network (train --arch vgg11_bcos)")
    return bcos_contributions(model, inputs, target=CRACK_CLASS)


def _nn_explainer(model, inputs, settings):
    if settings.explainer is None:
        raise CrackInputError("the method nn_explainer needs an explainer network (python -m cracklib train-explainer)")
    return explainer_masks(settings.explainer, inputs)


def _saliency(model, inputs, settings):
    return Saliency(model).attribute(inputs, target=CRACK_CLASS, abs=True)


def _smoothgrad(model, inputs, settings):
    torch.manual_seed(settings.seed)
    noise = 0.15 * float(inputs.detach().max() - inputs.detach().min())
    return NoiseTunnel(Saliency(model)).attribute(inputs, nt_type="smoothgrad", nt_samples=settings.samples,
                                                  nt_samples_batch_size=8, stdevs=noise, target=CRACK_CLASS)


def _last_conv(model: nn.Module) -> nn.Module:
    """The last convolution of the feature stack (a B-cos network's are :class:`BcosConv2d`)."""
    return [m for m in model.features if isinstance(m, (nn.Conv2d, BcosConv2d))][-1]


def _grad_cam(model, inputs, settings):
    cam = LayerGradCam(model, _last_conv(model)).attribute(inputs, target=CRACK_CLASS, relu_attributions=True)
    return F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)


#: method name → (model, inputs, settings) -> relevance (N, C, H, W)
METHODS: dict[str, Callable[[nn.Module, torch.Tensor, AttributionSettings], torch.Tensor]] = {
    "lrp": _lrp,
    "integrated_gradients": _integrated_gradients,
    "deeplift": _deeplift,
    "input_x_gradient": _input_x_gradient,
    "gradient_shap": _gradient_shap,
    "deeplift_shap": _deeplift_shap,
    "bcos": _bcos,
    "nn_explainer": _nn_explainer,
    "grad_cam": _grad_cam,
    "smoothgrad": _smoothgrad,
    "saliency": _saliency,
}


#: The methods that explain against a baseline (the others ignore ``settings.baseline``).
BASELINE_METHODS = frozenset({"integrated_gradients", "deeplift", "gradient_shap", "deeplift_shap"})


#: The methods that average over a distribution of baselines; the others take one reference image, so for them
#: ``damage_free_sample`` is its mean, exactly ``damage_free_mean`` (:func:`baselines_for`).
DISTRIBUTION_METHODS = frozenset({"gradient_shap", "deeplift_shap"})


def baselines_for(method: str) -> list[str]:
    """The baselines that differ for ``method``: all for the SHAP methods, all but ``damage_free_sample``
    (the same numbers as ``damage_free_mean``) for a single-reference method, none for the others."""
    if method not in BASELINE_METHODS:
        return []
    return [name for name in BASELINES if method in DISTRIBUTION_METHODS or name != "damage_free_sample"]


def attribute(model: nn.Module, inputs: torch.Tensor, method: str = "lrp",
              settings: AttributionSettings | None = None) -> np.ndarray:
    """Relevance of every pixel for the crack class.

    Parameters
    ----------
    model : nn.Module
        A crack classifier in eval mode (output 1 = crack).
    inputs : Tensor (N, 3, H, W)
        Normalised network inputs.
    method : str
        A name from :data:`METHODS`.
    settings : AttributionSettings, optional

    Returns
    -------
    ndarray (N, H, W), float32
    """
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose from {', '.join(METHODS)}")
    settings = settings or AttributionSettings()
    inputs = inputs.detach().clone().requires_grad_(True)
    with model_lock(model), torch.enable_grad(), warnings.catch_warnings():
        # captum announces every hook it sets on the activations; that is expected.
        warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
        relevance = METHODS[method](model, inputs, settings)
    return relevance.detach().sum(dim=1).float().cpu().numpy()
