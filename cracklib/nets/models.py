"""Crack classifiers: VGG-11 with small fully connected heads, and their weights files.

Two architectures, both built on :class:`torchvision.models.VGG` with VGG-11's
convolution plan ("configuration A") and no batch norm in the shipped form:

``vgg11_128``
    two 128-unit FC layers (Seibold et al.'s "VGG-A 128N", Forest et al.'s
    ``vgg11_128``);
``vgg11_onefc``
    the globally pooled output of the last conv block straight to the two
    outputs (Seibold et al.'s "one FC" variant).

A ``width`` multiplier scales every conv layer (1.0 is the paper's network;
0.25 keeps a CPU interactive). Output 1 is the crack class.

References
----------
Seibold, C. et al., "From Explanations to Segmentation: Using Explainable AI for
Image Segmentation", VISAPP 2022.
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction, 2024.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torchvision.models.vgg import VGG, make_layers

from cracklib.errors import CrackInputError
from cracklib.nets.bcos import build_bcos_vgg, fold_uncentered_batch_norm, is_bcos

__all__ = ["ARCHITECTURES", "CRACK_CLASS", "Normalization", "ModelCard", "build_model", "checked_model_name",
           "conv_layer_names", "default_device", "fold_batch_norm", "file_sha256", "save_model", "scoring_graph",
           "screening_graph"]


# In the repository (or an editable install) the weights are in weights/ beside the package;
# `pip install .` puts them inside it (pyproject.toml).
_PACKAGE = Path(__file__).resolve().parents[1]


#: Where the shipped weights are.
WEIGHTS_DIR = _PACKAGE / "weights" if (_PACKAGE / "weights").is_dir() else _PACKAGE.parent / "weights"


#: Index of the crack class in the classifier output.
CRACK_CLASS = 1


# VGG-11 ("configuration A") convolution plan; "M" is a 2×2 max-pool.
_VGG11_PLAN = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


ARCHITECTURES = ("vgg11_128", "vgg11_onefc", "vgg11_bcos")


@dataclass(frozen=True)
class Normalization:
    """The input normalisation, defined once: ``x = (pixel / 255 - mean) / std``.

    The ZBox bounds of LRP (:meth:`bounds`) and every baseline derive from it.
    """

    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def _stats(self, like: torch.Tensor | None = None):
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, 3, 1, 1)
        if like is not None:
            mean, std = mean.to(like), std.to(like)
        return mean, std

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 1], shape (N, 3, H, W) → network input."""
        mean, std = self._stats(images)
        return (images - mean) / std

    def denormalize(self, inputs: torch.Tensor) -> torch.Tensor:
        """Network input → pixels in [0, 1]."""
        mean, std = self._stats(inputs)
        return inputs * std + mean

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Lowest and highest possible network input, shape (1, 3, 1, 1) each (for ZBox)."""
        mean, std = self._stats()
        return (0.0 - mean) / std, (1.0 - mean) / std


@dataclass
class ModelCard:
    """What is known about a weights file; stored as JSON beside it."""

    arch: str = "vgg11_128"
    width: float = 1.0
    input_size: int = 224
    normalization: Normalization = field(default_factory=Normalization)
    training_data: dict = field(default_factory=dict)
    test_metrics: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    sha256: str = ""
    #: Subtracted from the crack logit before the softmax (``python -m cracklib calibrate``): fitted on the
    #: val split so that the 0.5 decision balances the classes; 0 = the probabilities as trained.
    logit_offset: float = 0.0
    #: A second classifier, trained on whole photos resized to its input, whose probability the
    #: ``tile_and_whole`` photo decision takes for the resized photo instead of this model's (a path
    #: relative to this card's folder; "" = this model). It decides, never explains: the tiles and their
    #: gate stay this model's. Tile models trained on native patches rank whole photos poorly.
    whole_photo_model: str = ""
    #: Test-time augmentation: the model looks at this many of the input's eight flips and quarter turns
    #: (``cracklib.nets.preprocess.VIEWS``) and its outputs are averaged (1 = the input as it is). A segmentation
    #: network averages its probability map (``cracklib.pipeline.predict_map``), a classifier its logits
    #: (``Classifier.probabilities``; explanations are of the input as it is). Each view is one more pass;
    #: ``python -m cracklib choose-views`` picks it on the val split.
    views: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @property
    def kept_epoch(self) -> dict | None:
        """The training epoch whose weights were kept (lowest validation loss), or None without a history."""
        scored = [h for h in self.notes.get("history", []) if h.get("val_loss") is not None]
        return min(scored, key=lambda h: h["val_loss"]) if scored else None

    @classmethod
    def from_dict(cls, data: dict) -> "ModelCard":
        data = dict(data)
        norm = data.pop("normalization", {}) or {}
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(normalization=Normalization(tuple(norm.get("mean", Normalization.mean)),
                                               tuple(norm.get("std", Normalization.std))), **known)


def _channels(width: float, channels: int) -> int:
    return max(4, int(round(channels * width)))


def build_model(arch: str = "vgg11_128", *, width: float = 1.0, input_size: int = 224,
                batch_norm: bool = False, normalization: Normalization | None = None) -> nn.Module:
    """Build an untrained crack classifier (2 outputs, class 1 = crack).

    Parameters
    ----------
    arch : {'vgg11_128', 'vgg11_onefc', 'vgg11_bcos'}
        ``vgg11_bcos`` is VGG-11's plan in B-cos layers (:mod:`cracklib.nets.bcos`):
        no batch norm, no biases, no ReLU, inputs encoded as ``[x, 1 − x]``.
    width : float
        Multiplier on every conv layer's channels (1.0 = VGG-11).
    input_size : int
        Side of the square training input; the adaptive pooling before the
        classifier is set to ``input_size // 32`` so it is an identity at that size.
    batch_norm : bool
        Add batch norm after each conv (for training; fold it away with
        :func:`fold_batch_norm` before explaining); for ``vgg11_bcos`` an
        uncentred batch norm (:class:`cracklib.nets.bcos.UncenteredBatchNorm`).
    normalization : Normalization, optional
        The input normalisation (``vgg11_bcos`` undoes it to encode pixels).
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    plan = [v if v == "M" else _channels(width, v) for v in _VGG11_PLAN]
    if arch == "vgg11_bcos":

        normalization = normalization or Normalization()
        return build_bcos_vgg(plan, input_size=input_size, batch_norm=batch_norm, mean=normalization.mean,
                              std=normalization.std)
    features = make_layers(plan, batch_norm=batch_norm)
    last = plan[-2]
    # torchvision's VGG.__init__ builds (and initialises) its ImageNet head of 120 M parameters, which is replaced
    # here anyway: 2-3 s per model on a CPU. So the VGG is made without it; its forward uses only the three parts
    # set below.
    model = VGG.__new__(VGG)
    nn.Module.__init__(model)
    model.features = features
    _init_like_vgg(model)
    if arch == "vgg11_128":
        pool = max(1, input_size // 32)
        model.avgpool = nn.AdaptiveAvgPool2d((pool, pool))
        model.classifier = nn.Sequential(
            nn.Linear(last * pool * pool, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 2),
        )
    else:
        model.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        model.classifier = nn.Sequential(nn.Linear(last, 2))
    for module in model.classifier:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)
    _no_inplace(model)
    return model


def _init_like_vgg(model: nn.Module) -> None:
    """torchvision VGG's initialisation (``init_weights=True``) of the conv and batch-norm layers."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def _no_inplace(model: nn.Module) -> None:
    # In-place ReLUs break the backward hooks of zennit and captum's DeepLift.
    for module in model.modules():
        if isinstance(module, (nn.ReLU, nn.Dropout)):
            module.inplace = False


def conv_layer_names(model: nn.Module) -> dict[str, str]:
    """Map VGG layer names (``conv1_1`` … ``conv5_2``, ``fc1`` …) to module names.

    Seibold et al.'s and Montavon et al.'s rule sets name layers this way.
    """
    names: dict[str, str] = {}
    block, index = 1, 0
    for name, module in model.features.named_children():
        if isinstance(module, nn.Conv2d):
            index += 1
            names[f"conv{block}_{index}"] = f"features.{name}"
        elif isinstance(module, nn.MaxPool2d):
            block, index = block + 1, 0
    fc = 0
    for name, module in model.classifier.named_children():
        if isinstance(module, nn.Linear):
            fc += 1
            names[f"fc{fc}"] = f"classifier.{name}"
    return names


@torch.no_grad()
def fold_batch_norm(model: VGG) -> VGG:
    """Return ``model`` with every BatchNorm2d folded into the conv before it.

    Training with batch norm converges far faster from scratch; folding gives the
    batch-norm-free architecture of the papers, with the same outputs, for LRP.
    (zennit's ``SequentialMergeBatchNorm`` canonizer does the same fold
    temporarily at explanation time; here it is made permanent for the weights file.)
    A B-cos network's uncentred batch norms are folded into its layers' gains.
    """

    if is_bcos(model):
        return fold_uncentered_batch_norm(model)
    layers, modules = [], list(model.features)
    i = 0
    while i < len(modules):
        module = modules[i]
        if isinstance(module, nn.Conv2d) and i + 1 < len(modules) and isinstance(modules[i + 1], nn.BatchNorm2d):
            bn = modules[i + 1]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size,
                             padding=module.padding)
            conv.weight.copy_(module.weight * scale.view(-1, 1, 1, 1))
            bias = module.bias if module.bias is not None else torch.zeros_like(bn.running_mean)
            conv.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
            layers.append(conv)
            i += 2
        else:
            layers.append(module)
            i += 1
    model.features = nn.Sequential(*layers)
    _no_inplace(model)
    return model


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def scoring_graph(model: nn.Module, input_size: int) -> nn.Module:
    """A copy of ``model`` that only classifies: traced, frozen and run in MKL-DNN's layout end to end.

    ``torch.jit.optimize_for_inference`` keeps the conv stack in MKL-DNN's
    blocked layout with prepacked weights, which scores a 128-px tile of the
    default model about 1.4× faster on these CPUs than the eager channels_last
    model, with logits equal to about 1e-6 (``benchmarks/speed/mask_step.py`` times
    both; a test checks the probabilities). PyTorch deprecates it in favour of
    ``torch.compile``, which gained nothing here. Explanations keep the eager
    model, whose layers they hook. Off the CPU, or where tracing fails, this is
    ``model`` itself.
    """
    import warnings

    device = next(model.parameters()).device
    if device.type != "cpu":
        return model
    example = torch.zeros(1, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", FutureWarning)  # the deprecation notice, on every load
            return torch.jit.optimize_for_inference(torch.jit.trace(model, example, check_trace=False))
    except Exception:  # noqa: BLE001 - an architecture the tracer cannot take is scored eagerly
        return model


def screening_graph(model: nn.Module, calibration: torch.Tensor) -> nn.Module | None:
    """An int8 copy of ``model`` for screening many tiles, or None where it cannot be made.

    Post-training static quantisation (PyTorch's FX graph mode, the x86 engine),
    with the activation ranges observed on ``calibration`` (normalised inputs,
    N×3×H×W), then traced and frozen. On these CPUs (AVX-512 VNNI) it scores a
    12 MP photo's tiles about twice as fast as :func:`scoring_graph`, but its
    crack probabilities differ from the float model's by up to about 0.2, so it
    only screens: :func:`cracklib.pipeline.classify_tiles` scores again in float
    every tile that could reach the gate or the photo decision
    (``benchmarks/speed/int8_screening.py`` measures the differences on real tiles).
    Off the CPU, or where quantisation fails, None.
    """
    import copy
    import warnings

    if next(model.parameters()).device.type != "cpu" or "x86" not in torch.backends.quantized.supported_engines:
        return None
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    inputs = calibration.contiguous()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # torch.ao's deprecation notices, on every load
            observed = prepare_fx(copy.deepcopy(model).eval().to(memory_format=torch.contiguous_format),
                                  get_default_qconfig_mapping("x86"), (inputs[:1],))
            for start in range(0, len(inputs), 16):
                observed(inputs[start:start + 16])
            return torch.jit.freeze(torch.jit.trace(convert_fx(observed), inputs[:1], check_trace=False).eval())
    except Exception:  # noqa: BLE001 - a model the quantiser cannot take is screened in float
        return None


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, as model cards record it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checked_model_name(name: str) -> str:
    """``name`` if it can name a weights file safely (letters, digits, ``_``, ``-``; at most 64), else an error.

    A model name typed in the app becomes a file name: a ``/`` or ``..`` in it
    would write outside the folder meant for it.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name or ""):
        raise CrackInputError(f"model name {name!r}: use 1-64 letters, digits, '_' or '-'")
    return name


def card_path(weights: str | Path) -> Path:
    """The model card that belongs to a weights file: ``NAME.json`` beside ``NAME.pt``."""
    return Path(weights).with_suffix(".json")


def read_card(weights: str | Path) -> ModelCard:
    """The model card of a weights file (:func:`card_path`)."""
    return ModelCard.from_dict(json.loads(card_path(weights).read_text()))


def save_model(model: nn.Module, path: str | Path, card: ModelCard, *, half: bool = False) -> ModelCard:
    """Save the state dict (optionally as float16) and the model card with its sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    torch.save(state, path)
    card.sha256 = file_sha256(path)
    card_path(path).write_text(card.to_json())
    return card
