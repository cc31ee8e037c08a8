"""Streamlit helpers shared by the pages: cached models and explanations, the sidebar, uploads, figures.

Pages stay thin: they read widgets, call cracklib (through these helpers where a
cache or a progress bar is involved), and draw. No numerics here either: the
figures only draw arrays that cracklib computed.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cracklib.archive import data_root, extract_zip
from cracklib.attribution import BASELINE_METHODS, LRP_BACKENDS, METHODS
from cracklib.baselines import BASELINES
from cracklib.composites import RULE_SETS
from cracklib.decision import PHOTO_DECISIONS
from cracklib.export import png_bytes
from cracklib.growth import GrowthReport, monitor_growth
from cracklib.imageio import CrackInputError, read_image, read_mask
from cracklib.pipeline import DEFAULT_WEIGHTS, WEIGHTS_DIR, Classifier, Explanation, explain, load_classifier
from cracklib.postprocess import POSTPROCESSING
from cracklib.render import preview
from cracklib.settings import MODES, ExplanationSettings, MaskSettings, PipelineConfig
from cracklib.synthetic import growth_series
from cracklib.threshold import THRESHOLDS

EXPLANATION, MASK = ExplanationSettings(), MaskSettings()
IMAGE_TYPES = ["jpg", "jpeg", "png", "tif", "tiff", "bmp"]
#: Longest side of the pictures drawn in the browser (the numbers use full resolution).
DISPLAY_SIDE = 1600


@contextmanager
def progress_bar(task: str, unit: str):
    """A ``st.progress`` bar for ``progress(done, total)`` callbacks, removed when the work ends."""
    bar = st.progress(0.0, text=f"{task}…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(1, total)), text=f"{task}: {unit} {done} of {total}")

    try:
        yield progress
    finally:
        bar.empty()


@st.cache_resource(show_spinner="Loading the classifier…")
def classifier(weights: str = str(DEFAULT_WEIGHTS)) -> Classifier:
    """One model per weights file for all sessions, on CUDA when there is one.

    zennit's rules change the model in place while they run; cracklib holds a
    per-model lock around every forward and backward pass, so sessions sharing
    this model never see each other's rules (tests/test_app.py checks it).
    """
    return load_classifier(weights)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_explanation(image_bytes: bytes, weights: str, settings: ExplanationSettings,
                       name: str = "photo") -> tuple[np.ndarray, Explanation]:
    """Image and explanation, keyed on the image bytes, the weights and the explanation settings only,
    so a threshold or post-processing change hits the cache. A progress bar shows the tiles while it
    computes (created here: Streamlit replays a cached function's elements)."""
    image = read_image(image_bytes, name=name)
    with progress_bar(f"Explaining {name} ({settings.method})", "tile") as progress:
        return image, explain(classifier(weights), image, settings, progress=progress)


def explanation(name: str, image_bytes: bytes, weights: str,
                settings: ExplanationSettings) -> tuple[np.ndarray, Explanation]:
    """The cached explanation of one upload."""
    return cached_explanation(image_bytes, weights, settings, name)


def weights_options() -> dict[str, str]:
    """Label → weights path: the shipped weights, then those trained in this session."""
    options = {path.stem: str(path) for path in sorted(WEIGHTS_DIR.glob("*.pt"))}
    default = {DEFAULT_WEIGHTS.stem: options.pop(DEFAULT_WEIGHTS.stem, str(DEFAULT_WEIGHTS))}
    trained = {f"{Path(path).stem} (trained here)": path for path in st.session_state.get("trained_weights", [])}
    return {**default, **options, **trained}


#: Below this validation balanced accuracy a model is flagged in the sidebar (0.5 is chance).
UNRELIABLE_BALANCED_ACCURACY = 0.7


def _select(label: str, options: list[str], default: str, **kwargs) -> str:
    return st.selectbox(label, options, index=options.index(default) if default in options else 0, **kwargs)


def sidebar_config(*, method: bool = True) -> tuple[str, PipelineConfig]:
    """The weights and pipeline settings chosen in the sidebar (``method=False``: the page picks methods)."""
    with st.sidebar:
        st.header("Settings")
        options = weights_options()
        chosen = st.session_state.get("selected_weights")
        labels = list(options)
        default_label = next((label for label, path in options.items() if path == chosen), labels[0])
        weights = options[_select("Model", labels, default_label, key="model")]
        kept = classifier(weights).card.kept_epoch
        if kept and kept.get("val_balanced_accuracy") is not None and \
                kept["val_balanced_accuracy"] < UNRELIABLE_BALANCED_ACCURACY:
            st.warning(f"This model's validation balanced accuracy is {kept['val_balanced_accuracy']:.2f} "
                       "(0.5 is chance): its masks and counts are not to be trusted.")
        choice, rules = EXPLANATION.method, EXPLANATION.rules
        if method:
            choice = _select("XAI method", list(METHODS), EXPLANATION.method)
            rules = _select("LRP rule set", list(RULE_SETS), EXPLANATION.rules, disabled=choice != "lrp")
        baseline = _select("Baseline", list(BASELINES), EXPLANATION.baseline,
                           disabled=method and choice not in BASELINE_METHODS,
                           help="the reference image of IG, DeepLift and the SHAP methods")
        threshold = _select("Threshold", list(THRESHOLDS), MASK.threshold)
        post = _select("Post-processing", list(POSTPROCESSING), MASK.post)
        gate = st.slider("Gate (explain from this crack probability)", 0.0, 1.0, EXPLANATION.gate, 0.05)
        scale = st.number_input("Scale (mm per pixel, 0 = pixels only)", min_value=0.0, value=0.0, format="%.4f")
        with st.expander("Whole photos"):
            mode = _select("Mode", list(MODES), EXPLANATION.mode,
                           help="tiled: native-resolution tiles, any photo size; "
                                "resize: the whole photo to the model input")
            decision = _select("Photo decision", list(PHOTO_DECISIONS), EXPLANATION.decision,
                               format_func=lambda name: PHOTO_DECISIONS[name].label,
                               help="tiled mode: how the tiles' crack probabilities make the photo's")
            overlap = st.slider("Tile overlap", 0.0, 0.75, EXPLANATION.tile_overlap, 0.05)
            tile_scale = st.slider("Tile scale (resize before tiling)", 0.25, 2.0, EXPLANATION.tile_scale, 0.25)
            backend = _select("LRP backend", list(LRP_BACKENDS), EXPLANATION.lrp_backend,
                              help="fast: cracklib's engine; zennit: the reference (same relevance, slower)")
    return weights, PipelineConfig.of(method=choice, rules=rules, lrp_backend=backend, baseline=baseline,
                                      threshold=threshold, post=post, gate=gate, mm_per_px=scale or None,
                                      mode=mode, decision=decision, tile_overlap=overlap, tile_scale=tile_scale)


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:12]


def read_truth(data: bytes, name: str, shape: tuple[int, int]) -> np.ndarray | None:
    """A ground-truth mask upload checked against the photo's size; shows the error and returns None if bad."""
    try:
        return read_mask(data, shape=shape, name=name)
    except CrackInputError as error:
        st.error(str(error))
        return None


def show_image(image: np.ndarray, caption: str, container=st) -> None:
    container.image(preview(image, DISPLAY_SIDE), caption=caption, width="stretch")


def heatmap_figure(image: np.ndarray, relevance: np.ndarray | None, *, title: str = "relevance") -> go.Figure:
    """The photo with the relevance drawn over it (red for a crack, blue against), zoomable, with a colour bar."""
    picture = preview(image, DISPLAY_SIDE)
    figure = go.Figure(go.Image(z=picture))
    if relevance is not None:
        values = preview(relevance, DISPLAY_SIDE)
        top = float(np.abs(values).max()) or 1.0
        figure.add_trace(go.Heatmap(z=values, colorscale="RdBu_r", zmin=-top, zmax=top, opacity=0.55,
                                    colorbar=dict(title=title), hovertemplate="relevance %{z:.3g}<extra></extra>",
                                    x0=0, dx=picture.shape[1] / values.shape[1],
                                    y0=0, dy=picture.shape[0] / values.shape[0]))
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=360)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def pr_figure(curves: list[tuple[str, np.ndarray, np.ndarray, tuple[float, float] | None]]) -> go.Figure:
    """Precision-recall curves: (label, precision, recall, operating point (recall, precision) or None)."""
    figure = go.Figure()
    for label, precision, recall, point in curves:
        line = figure.add_trace(go.Scatter(x=recall, y=precision, mode="lines", name=label))
        if point is not None:
            color = line.data[-1].line.color
            figure.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", marker=dict(size=11, color=color),
                                        name=f"{label}: current mask"))
    figure.update_layout(xaxis=dict(title="recall", range=[0, 1]), yaxis=dict(title="precision", range=[0, 1.02]),
                         height=360, margin=dict(l=0, r=0, t=10, b=0))
    return figure


def probability_figure(explanation: Explanation, *, side: int = 400) -> go.Figure:
    """The tile-probability map (about ``side`` pixels across): where the classifier sees cracks."""
    step = max(1, -(-max(explanation.image_shape) // side))
    figure = go.Figure(go.Heatmap(z=explanation.tile_probability_map(step=step), colorscale="Reds", zmin=0, zmax=1,
                                  colorbar=dict(title="crack probability"),
                                  hovertemplate="probability %{z:.2f}<extra></extra>"))
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=300, yaxis=dict(autorange="reversed", visible=False),
                         xaxis=dict(visible=False, scaleanchor="y"))
    return figure


@dataclass
class GrowthRun:
    """A growth report and the uploads that could not be read."""

    growth: GrowthReport
    skipped: list[tuple[str, str]]

    @property
    def json(self) -> str:
        return json.dumps(self.growth.to_dict(), indent=2)


@st.cache_data(show_spinner=False, max_entries=8)
def growth_report(frames: tuple[tuple[str, bytes], ...], weights: str, config: PipelineConfig,
                  options: dict) -> GrowthRun:
    """:func:`cracklib.growth.monitor_growth` on uploads, cached; unreadable frames are skipped and named."""
    images, names, skipped = [], [], []
    for name, data in frames:
        try:
            images.append(read_image(data, name=name))
            names.append(name)
        except CrackInputError as error:
            skipped.append((name, str(error)))
    if len(images) < 2 and skipped:
        raise CrackInputError(f"{skipped[0][1]} (growth needs two or more readable frames)")
    with progress_bar("Explaining the frames", "frame") as progress:
        return GrowthRun(monitor_growth(classifier(weights), images, config, names=names, progress=progress,
                                        **options), skipped)


@st.cache_data(show_spinner=False)
def demo_growth_frames() -> list[tuple[str, bytes]]:
    """A synthetic growing crack (five frames) as PNG uploads, for the page's first open."""
    series = growth_series((384, 512), steps=5, rng=3, max_shift=10, exposure=0.1)
    return [(f"synthetic_{index + 1}.png", png_bytes(frame)) for index, frame in enumerate(series.frames)]


def unpacked_zip(data: bytes, name: str) -> Path:
    """An uploaded zip unpacked once into a temporary folder named by its digest; returns the data folder."""
    target = Path(tempfile.gettempdir()) / f"cracklib_upload_{digest(data)}"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix="cracklib_unpacking_"))
        extract_zip(data, staging, name=name)  # raises before anything lands in ``target``
        staging.rename(target)
    return data_root(target)
