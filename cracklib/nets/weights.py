"""The one loader of weights files: classifiers, segmentation networks and NN-Explainers alike.

A weights file ``NAME.pt`` (a state dict) has its model card ``NAME.json``
beside it (:class:`cracklib.nets.models.ModelCard`). Loading checks, in order:
both files exist; the card names a network of the kind asked for; the weights
are the ones the card was written for (its sha256); they load with
``torch.load(weights_only=True)`` (no code runs from a file) into the network
the card describes. Any failure is one :class:`~cracklib.errors.CrackInputError`
naming the file. The network comes back in eval mode, float32, frozen and
``channels_last`` (about 1.6× faster inference of these networks on x86 CPUs).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from cracklib.errors import CrackInputError
from cracklib.nets.models import (
    ARCHITECTURES,
    ModelCard,
    build_model,
    card_path,
    default_device,
    file_sha256,
    read_card,
)
from cracklib.nets.unet import UNet11

__all__ = ["NETWORK_KINDS", "load_network", "load_model", "load_segmenter", "load_explainer"]


def _vgg(card: ModelCard) -> nn.Module:
    return build_model(card.arch, width=card.width, input_size=card.input_size, normalization=card.normalization)


def _unet(card: ModelCard) -> nn.Module:
    return UNet11(card.width)


#: kind → (the card architectures it accepts, how an empty network is built from its card).
NETWORK_KINDS: dict[str, tuple[tuple[str, ...], Callable[[ModelCard], nn.Module]]] = {
    "classifier": (ARCHITECTURES, _vgg),
    "segmentation network": (("unet11",), _unet),
    "NN-Explainer": (("nn_explainer",), _unet),
}


def load_network(path: str | Path, kind: str, *, device: torch.device | str | None = None
                 ) -> tuple[nn.Module, ModelCard]:
    """A network of ``kind`` (a key of :data:`NETWORK_KINDS`) and its card, checked as the module says.

    Parameters
    ----------
    path : path of the weights file
    kind : str
    device : default :func:`cracklib.nets.models.default_device`

    Raises
    ------
    CrackInputError
        A file is missing, the card names another kind, the weights changed since the card was written, or
        they cannot be read into the network the card describes.
    """
    path = Path(path)
    architectures, build = NETWORK_KINDS[kind]
    if not path.exists():
        raise CrackInputError(f"{path}: no such weights file ({kind})")
    if not card_path(path).exists():
        raise CrackInputError(f"{path}: model card {card_path(path).name} is missing")
    try:
        card = read_card(path)
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad file
        raise CrackInputError(f"{path}: cannot read its model card ({type(exc).__name__})") from None
    if card.arch not in architectures:
        raise CrackInputError(f"{path}: its card says {card.arch}, not a {kind} ({', '.join(architectures)})")
    if card.sha256 and file_sha256(path) != card.sha256:
        raise CrackInputError(f"{path}: the weights are not those its card was written for (sha256 differs)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad file
        raise CrackInputError(f"{path}: cannot read weights ({type(exc).__name__})") from None
    model = build(card)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except (RuntimeError, AttributeError):
        raise CrackInputError(f"{path}: weights do not match the {card.arch} architecture in its card") from None
    model.eval().to(device or default_device(), memory_format=torch.channels_last)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, card


def load_model(path: str | Path, *, device: torch.device | str | None = None) -> tuple[nn.Module, ModelCard]:
    """A crack classifier and its card (:func:`load_network`, kind ``classifier``): a new copy on every call."""
    return load_network(path, "classifier", device=device)


@lru_cache(maxsize=8)
def _cached(path: str, kind: str, device: str, stamp: float) -> tuple[nn.Module, ModelCard]:
    return load_network(path, kind, device=device)


def _load_once(path: str | Path, kind: str, device) -> tuple[nn.Module, ModelCard]:
    path = Path(path)
    if not path.exists() or not card_path(path).exists():
        raise CrackInputError(f"{path}: no such {kind} (weights and card)")
    # Either file's change reloads it (``choose-views`` rewrites the card only).
    stamp = max(path.stat().st_mtime, card_path(path).stat().st_mtime)
    return _cached(str(path), kind, str(device or default_device()), stamp)


def load_segmenter(path: str | Path, *, device: torch.device | str | None = None) -> tuple[UNet11, ModelCard]:
    """A segmentation network and its card, loaded once per file and device (again if either file changes)."""
    return _load_once(path, "segmentation network", device)


def load_explainer(path: str | Path) -> tuple[UNet11, ModelCard]:
    """An NN-Explainer and its card, loaded once per file, on the CPU (again if either file changes)."""
    return _load_once(path, "NN-Explainer", "cpu")
