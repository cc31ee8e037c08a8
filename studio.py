"""Streamlit helpers shared by the pages: cached models and explanations, the sidebar, uploads, figures.

Pages stay thin: they read widgets, call cracklib (through these helpers where a
cache or a progress bar is involved), and draw. No numerics here either: the
figures only draw arrays that cracklib computed.
"""
from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, NamedTuple

import cachetools
import numpy as np
import plotly.colors
import plotly.graph_objects as go
import streamlit as st

from cracklib.archive import data_root, extract_zip
from cracklib.attribution import BASELINE_METHODS, LRP_BACKENDS, METHODS
from cracklib.baselines import BASELINES
from cracklib.composites import RULE_SETS
from cracklib.decision import PHOTO_DECISIONS
from cracklib.errors import CrackInputError
from cracklib.evaluation import PRCurve
from cracklib.export import png_bytes
from cracklib.growth import GrowthReport, monitor_growth
from cracklib.imageio import read_image, read_mask
from cracklib.pipeline import (DEFAULT_WEIGHTS, WEIGHTS_DIR, Classifier, Explanation, SegmentationResult,
                               cut_explanation, explain, load_classifier, segment_explanation)
from cracklib.models import read_card
from cracklib.postprocess import POSTPROCESSING
from cracklib.refine import DARKNESS_WIDTH, PER_PHOTO, REFINEMENTS, DarknessMap
from cracklib.segnet import SEGMENTER_METHODS, network_name, segmenter_path
from cracklib.render import RELEVANCE_PERCENTILE, preview, relevance_scale
from cracklib.severity import WIDTH_METHODS
from cracklib.settings import (MODES, ExplanationSettings, MaskSettings, PipelineConfig, default_mask,
                              method_available)
from cracklib.synthetic import growth_series
from cracklib.threshold import THRESHOLDS, Thresholded
from cracklib.tiling import ceil_div

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
    this model never see each other's rules (tests/test_app.py checks it). Its int8
    screen for large photos is built here too, not on the first one.
    """
    loaded = load_classifier(weights)
    loaded.screening_model  # noqa: B018 - a cached property, built now
    return loaded


class Explained(NamedTuple):
    """One upload, decoded and explained: the photo, its display copy and the explanation."""

    image: np.ndarray
    #: The photo reduced to DISPLAY_SIDE, made once (reducing a 12 MP photo on every rerun costs time).
    picture: np.ndarray
    explanation: Explanation
    #: The relevance reduced to HEATMAP_SIDE, made once too (None when the photo was not explained).
    heat: np.ndarray | None = None
    #: The photo's darkness, kept for the next threshold change (the refinement and the widths read it).
    darkness: DarknessMap | None = None
    #: Its key in the explanation cache, which its cuts' keys extend (:func:`cut`).
    key: tuple = ()


#: Memory the explanations of all sessions may hold together (MB); the least recently used go first.
CACHE_MB_VARIABLE, DEFAULT_CACHE_MB = "CRACKLIB_CACHE_MB", 2048


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory: a tiled map is a view of the padded blend it was cut from."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


#: What the explanation cache holds: uploads explained, their cuts, and their measured masks.
Entry = Explained | Thresholded | SegmentationResult


def _arrays(entry: Entry) -> list[np.ndarray]:
    """The arrays an entry holds of its own: a measured mask's score map is its cut's, and its photo,
    darkness and explanation are its upload's (the upload's entry, used just before, is evicted first and the
    measured masks soon after, so the time they outlive it uncounted is short)."""
    if isinstance(entry, Thresholded):
        return [entry.score, entry.mask]
    if isinstance(entry, SegmentationResult):
        return [entry.mask]
    return [a for a in (entry.image, entry.picture, entry.heat, entry.explanation.relevance,
                        entry.explanation.support, entry.explanation.tile_probabilities) if a is not None]


def _nbytes(entry: Entry) -> int:
    owners = {id(owner): owner for owner in map(_owner, _arrays(entry))}  # each buffer once
    darkness = entry.darkness.nbytes if isinstance(entry, Explained) and entry.darkness else 0
    return sum(owner.nbytes for owner in owners.values()) + darkness


class ExplanationCache:
    """Explained uploads of all sessions and their cuts, bounded in bytes (not in entries: one 43 MP photo holds
    ~0.6 GB).

    Streamlit's ``cache_data`` bounds entries only and copies every hit;
    cachetools' LRU cache weighs each entry. Cached arrays are made read-only,
    since every session is handed the same object.
    """

    def __init__(self, budget_bytes: int):
        self._entries = cachetools.LRUCache(maxsize=budget_bytes, getsizeof=_nbytes)
        self._lock = threading.Lock()
        self._pending: dict = {}  # key → Future of an entry being computed

    @property
    def nbytes(self) -> int:
        return int(self._entries.currsize)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, key, compute: Callable[[], Entry]) -> Entry:
        """The entry for ``key``, computed by ``compute()`` if it is not kept; a caller asking for an entry
        that another thread is computing (a background cut, another session) waits for it, and computes it
        itself if that thread fails or is stopped (a page run interrupted by a widget change)."""
        while True:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = Future()
                    break  # this thread computes it
            try:
                return pending.result()
            except Exception:  # noqa: BLE001 - the other thread's failure is not this caller's: try again
                continue
        try:
            explained = compute()  # outside the lock: other sessions keep being served
        except BaseException as error:
            with self._lock:
                del self._pending[key]
            pending.set_exception(error)
            raise
        for array in _arrays(explained):
            array.flags.writeable = False
        with self._lock:
            del self._pending[key]
            try:
                self._entries[key] = explained
            except ValueError:  # larger than the whole budget: served, not kept
                pass
        pending.set_result(explained)
        return explained


@st.cache_resource
def explanation_cache() -> ExplanationCache:
    """The one explanation cache of this server process (CRACKLIB_CACHE_MB, default 2048 MB)."""
    return ExplanationCache(int(float(os.environ.get(CACHE_MB_VARIABLE, DEFAULT_CACHE_MB)) * 2**20))


_frozen_at_start = False


def free_cyclic_garbage() -> None:
    """Collect the reference cycles that earlier page runs left, before a new photo is explained.

    Arrays held by a reference cycle (a page's namespace, a session's old
    widgets) are freed only by Python's cyclic collector, which runs on object
    counts, not bytes, so on a server they pile up photo after photo. The first
    call freezes what has survived so far (torch, Streamlit, plotly, the models:
    half a million objects, 0.3-0.5 s to scan), so later collections scan only
    the objects made since, in about a millisecond (``gc.freeze``).
    """
    global _frozen_at_start
    gc.collect()
    if not _frozen_at_start:
        gc.freeze()
        _frozen_at_start = True


def explanation(name: str, image_bytes: bytes, weights: str, settings: ExplanationSettings) -> Explained:
    """Photo and explanation of one upload, cached on the image bytes, the weights and the explanation
    settings only, so a threshold or post-processing change hits the cache. A progress bar shows the tiles
    while it computes."""
    def compute() -> Explained:
        free_cyclic_garbage()
        image = read_image(image_bytes, name=name)
        with progress_bar(f"Explaining {name} ({settings.method})", "tile") as progress:
            explained = explain(classifier(weights), image, settings, progress=progress)
        heat = None if explained.relevance is None else preview(explained.relevance, HEATMAP_SIDE)
        return Explained(image, preview(image, DISPLAY_SIDE), explained, heat, DarknessMap(image), key)

    key = (hashlib.sha256(image_bytes).hexdigest(), name, weights, settings)
    return explanation_cache().get(key, compute)


def cut(explained: Explained, settings: MaskSettings) -> Thresholded:
    """The explanation's cut (threshold, then refinement on the photo) for these mask settings, cached
    beside its explanation: a post-processing change, or a threshold tried before, is not cut again (the
    Gaussian mixture's cut of a 12 MP photo takes about 0.3 s). The photo's kept darkness (15 px) is read when
    the cut's square is 15 px, what a square sized per photo most often is; another square computes its own
    (:func:`cracklib.pipeline.cut_explanation`)."""
    def compute() -> Thresholded:
        return cut_explanation(explained.explanation, settings, photo=explained.image, darkness=explained.darkness)

    return explanation_cache().get((explained.key, settings.threshold, settings.refine, settings.darkness_width),
                                   compute)


def measured(explained: Explained, settings: MaskSettings, *, exclude: np.ndarray | None = None
             ) -> SegmentationResult:
    """The explanation's measured mask for these mask settings and region to ignore (its cut, post-processed;
    severity measured when first read), cached beside its explanation: a rerun that changes nothing of the mask
    (a crack selected in the table) or a threshold measured in the background (:func:`prefetch_measured`) only
    draws.

    Post-processing and severity take about 0.2 s on a 12 MP photo (``benchmarks/mask_step.py``).
    """
    def compute() -> SegmentationResult:
        return segment_explanation(explained.explanation, settings, photo=explained.image, exclude=exclude,
                                   darkness=explained.darkness, thresholded=cut(explained, settings))

    excluded = None if exclude is None else hashlib.sha256(np.packbits(exclude)).hexdigest()
    return explanation_cache().get((explained.key, settings, excluded), compute)


#: One worker thread of this server process for work a user may ask for next (:func:`prefetch_measured`); its
#: thread starts with the first task.
BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cracklib-prefetch")
#: Page runs in progress in this server process (all sessions), and the condition background work waits on.
_pages_running = 0
_pages_idle = threading.Condition()
#: The longest a background task waits for the pages to finish before it runs anyway.
BACKGROUND_MAX_WAIT_S = 30.0


@contextmanager
def page_run():
    """Mark a page run in progress (``app.py`` wraps every run in it): background work waits until no page
    runs, so the page a user is looking at never shares the two cores and Python's lock with work done for a
    page they may ask for next."""
    global _pages_running
    with _pages_idle:
        _pages_running += 1
    try:
        yield
    finally:
        with _pages_idle:
            _pages_running -= 1
            _pages_idle.notify_all()


def _when_pages_idle(task: Callable, *args) -> None:
    with _pages_idle:
        _pages_idle.wait_for(lambda: _pages_running == 0, timeout=BACKGROUND_MAX_WAIT_S)
    task(*args)


#: Numbers the prefetch batches; only the latest batch's tasks run (:func:`prefetch_measured`).
_prefetch_batches = itertools.count(1)
_latest_prefetch = 0


def _measure_if_latest(batch: int, explained: Explained, settings: MaskSettings) -> None:
    if batch == _latest_prefetch:  # an older batch is for photos no page shows any more
        measured(explained, settings).severity  # noqa: B018 - a cached property, measured now


def prefetch_measured(shown: list[Explained], settings: MaskSettings) -> None:
    """Measure the masks of the photos a page shows with every other threshold in the background, into the
    cache (:func:`measured`), while the user looks at the result, so that a threshold change only draws (issue
    12: ≤ 0.3 s on a 12 MP photo, where cut, post-processing and severity take 0.25-0.9 s per threshold in the
    background, about 3 s for all). The thresholds go in the sidebar's order. Each waits until no page runs
    (:func:`page_run`), and a later call's batch, from any session, replaces what is left of this one (the
    demo photo's thresholds are not measured after the user's upload). Masks with a region to ignore are not
    measured ahead (a rare upload). Pages call this last.

    A change asked for before its mask is ready waits for it instead of computing it a second time. Each
    threshold's cut holds a score map and a mask of the photo's size (about 60-110 MB on 12 MP), in the same
    byte-bounded cache, so older photos' explanations are the ones that make room.
    """
    global _latest_prefetch
    _latest_prefetch = batch = next(_prefetch_batches)
    for explained in shown:
        if not explained.explanation.explained:
            continue
        for threshold in THRESHOLDS:  # in the sidebar's order, the order a user meets them
            if threshold != settings.threshold:
                BACKGROUND.submit(_when_pages_idle, _measure_if_latest, batch, explained,
                                  replace(settings, threshold=threshold))


#: Where the Train page writes models: one fresh folder per run under the temp folder.
TRAINED_PREFIX = "cracklib_trained_"


def remember_trained(path: str | Path) -> None:
    """Offer a model trained on the Train page in every page's model list, also after a reload.

    A reload starts a new session, so the model is also named in the page's
    address (``?trained=FOLDER/NAME``, no server path), where a reload finds it.
    """
    path = Path(path)
    st.session_state.setdefault("trained_weights", [])
    if str(path) not in st.session_state["trained_weights"]:
        st.session_state["trained_weights"].append(str(path))
    tokens = st.query_params.get_all("trained")
    token = f"{path.parent.name}/{path.stem}"
    if token not in tokens:
        st.query_params["trained"] = tokens + [token]


def _trained_from_address() -> list[str]:
    """The trained models named in the address that still exist; anything else in it is ignored."""
    found = []
    for token in st.query_params.get_all("trained"):
        if re.fullmatch(rf"{TRAINED_PREFIX}[A-Za-z0-9_]+/[A-Za-z0-9_-]{{1,64}}", token):
            path = Path(tempfile.gettempdir()) / f"{token}.pt"
            if path.exists():
                found.append(str(path))
    return found


def _is_classifier(path: Path) -> bool:
    """Whether a shipped weights file is a classifier (``nn_explainer.pt`` is an explainer, not a model to pick)."""
    from cracklib.models import ARCHITECTURES, card_path

    try:
        return json.loads(card_path(path).read_text()).get("arch") in ARCHITECTURES
    except (OSError, ValueError):
        return False


def weights_options() -> dict[str, str]:
    """Label → weights path: the shipped weights, then those trained in this session (or named in the address)."""
    options = {path.stem: str(path) for path in sorted(WEIGHTS_DIR.glob("*.pt")) if _is_classifier(path)}
    default = {DEFAULT_WEIGHTS.stem: options.pop(DEFAULT_WEIGHTS.stem, str(DEFAULT_WEIGHTS))}
    paths = dict.fromkeys([*st.session_state.get("trained_weights", []), *_trained_from_address()])
    trained = {f"{Path(path).stem} (trained here)": path for path in paths}
    return {**default, **options, **trained}


#: Below this validation balanced accuracy a model is flagged in the sidebar (0.5 is chance).
UNRELIABLE_BALANCED_ACCURACY = 0.7


def _select(label: str, options: list[str], default: str, **kwargs) -> str:
    return st.selectbox(label, options, index=options.index(default) if default in options else 0, **kwargs)


def sidebar_config(*, method: bool = True, mask: bool = True,
                   defaults: PipelineConfig = PipelineConfig()) -> tuple[str, PipelineConfig]:
    """The weights and pipeline settings chosen in the sidebar, starting from ``defaults``.

    ``method=False``: the page picks the methods; ``mask=False``: the page picks
    thresholds and post-processings itself, so the sidebar does not offer them.
    """
    with st.sidebar:
        st.header("Settings")
        options = weights_options()
        chosen = st.session_state.get("selected_weights")
        labels = list(options)
        default_label = next((label for label, path in options.items() if path == chosen), labels[0])
        weights = options[_select("Model", labels, default_label, key="model")]
        card = classifier(weights).card
        if card.logit_offset:
            st.caption(f"Its crack probabilities are calibrated on its validation split (crack logit − "
                       f"{card.logit_offset:.2f}, `python -m cracklib calibrate`), so that 0.5 balances the classes.")
        if card.whole_photo_model:
            st.caption(f"Whether a photo is cracked is decided with a second model, trained on whole photos "
                       f"(`{card.whole_photo_model}`): its probability of the resized photo stands in for this "
                       "model's in the `tile_and_whole` decision. The tiles, the heatmap and the mask are this "
                       "model's.")
        kept = card.kept_epoch
        if kept and kept.get("val_balanced_accuracy") is not None and \
                kept["val_balanced_accuracy"] < UNRELIABLE_BALANCED_ACCURACY:
            st.warning(f"This model's validation balanced accuracy is {kept['val_balanced_accuracy']:.2f} "
                       "(0.5 is chance): its masks and counts are not to be trusted.")
        choice, rules = EXPLANATION.method, EXPLANATION.rules
        if method:
            choice = _select("XAI method", [m for m in [*METHODS, *SEGMENTER_METHODS] if method_available(m)],
                             EXPLANATION.method,
                             help="unet: a U-Net trained on pixel masks (the reference); distilled: a U-Net "
                                  "trained on this product's explanation masks, from image labels only "
                                  "(both cut at their own 0.5, the 'probability' threshold, and refined and "
                                  "post-processed as chosen for each on the validation splits, unless other "
                                  "settings are chosen); bcos: the shipped B-cos network classifies and explains "
                                  "itself (its own dynamic linear map); "
                                  "nn_explainer: a network trained to mask the classifier's evidence.")
            own_network = segmenter_path(choice, weights) if choice in SEGMENTER_METHODS else None
            if own_network is not None and own_network != segmenter_path(choice):
                views = read_card(own_network).views
                averaged = f"; it averages its map over {views} flips and turns of the photo" if views > 1 else ""
                st.caption(f"This model brings its own {choice} network, chosen on its data set "
                           f"(`{network_name(own_network)}`){averaged}.")
            rules = _select("LRP rule set", list(RULE_SETS), EXPLANATION.rules, disabled=choice != "lrp")
        baseline = _select("Baseline", list(BASELINES), EXPLANATION.baseline,
                           disabled=method and choice not in BASELINE_METHODS,
                           help="the reference image of IG, DeepLift and the SHAP methods")
        own_step = default_mask(choice, defaults.mask)
        threshold, post, refine = own_step.threshold, own_step.post, own_step.refine
        darkness_width = own_step.darkness_width  # the pages without mask widgets take the defaults
        if mask:
            # A network's map defaults to its own mask step; switching between a network and an explanation
            # resets these (a selectbox whose default changes is a new widget).
            threshold = _select("Threshold", list(THRESHOLDS), own_step.threshold)
            post = _select("Post-processing", list(POSTPROCESSING), own_step.post)
            refine = _select("Refine with the photo", list(REFINEMENTS), own_step.refine,
                             help="; ".join(f"{name}: {text}" for name, text in REFINEMENTS.items()))
            per_photo = st.checkbox(
                "Size the darkness square per photo", own_step.darkness_width == PER_PHOTO, disabled=refine == "none",
                help="the refinement keeps the pixels darker than the brightest surface within a square: sized on "
                     "each photo's explanation band (15-45 px), or set by hand below")
            side = st.slider(
                "Widest crack (darkness square, px)", 5, 95,
                DARKNESS_WIDTH if own_step.darkness_width == PER_PHOTO else own_step.darkness_width, 2,
                disabled=refine == "none" or per_photo,
                help="make it wider than the widest crack, or a wide, spalled crack loses its middle (a wider square "
                     "lets more surface texture in; docs/darkness_width_val.md)")
            darkness_width = PER_PHOTO if per_photo else side
        gap = st.slider("Join crack fragments closer than (px)", 0, 40, MASK.crack_gap_px,
                        help="fragments along one crack, interrupted by a faint stretch, count as one crack")
        widths = _select("Crack widths read on", list(WIDTH_METHODS), MASK.widths,
                         help="; ".join(f"{name}: {text}" for name, text in WIDTH_METHODS.items()))
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
                                      threshold=threshold, post=post, refine=refine, darkness_width=darkness_width,
                                      crack_gap_px=gap, widths=widths,
                                      gate=gate, mm_per_px=scale or None,
                                      mode=mode, decision=decision, tile_overlap=overlap, tile_scale=tile_scale)


def selected_rows(key: str) -> list[int]:
    """The rows selected in the dataframe widget ``key`` on the last run (before the widget is drawn again)."""
    state = st.session_state.get(key)
    return list(state["selection"]["rows"]) if state else []


#: Where a page notes when things were drawn (``time.perf_counter``), for benchmarks/app_latency.py.
PAGE_EVENTS = "page_events"


def mark_page_event(event: str) -> None:
    """Note the time of a page event ("mask drawn"), read by benchmarks/app_latency.py through AppTest."""
    st.session_state.setdefault(PAGE_EVENTS, {})[event] = time.perf_counter()


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:12]


def read_mask_upload(data: bytes, name: str, shape: tuple[int, int]) -> np.ndarray | None:
    """A mask upload (ground truth, or regions to ignore) checked against the photo's size; shows the error
    and returns None if bad."""
    try:
        return read_mask(data, shape=shape, name=name)
    except CrackInputError as error:
        st.error(str(error))
        return None


def show_image(image: np.ndarray, caption: str, container=st) -> None:
    container.image(preview(image, DISPLAY_SIDE), caption=caption, width="stretch")


#: How the Segment page draws relevance.
HEATMAP_VIEWS = ("relevance over photo", "relevance alone")
#: Blue (against a crack) - clear - red (for a crack): weak relevance leaves the photo as it is.
RELEVANCE_COLORS = [[0.0, "rgba(33,102,172,1)"], [0.3, "rgba(103,169,207,0.7)"], [0.5, "rgba(255,255,255,0)"],
                    [0.7, "rgba(239,138,98,0.7)"], [1.0, "rgba(178,24,43,1)"]]


#: Longest side of a drawn relevance map: a figure 360 px high needs no more, and the browser gets 4x less.
HEATMAP_SIDE = 800


def heatmap_figure(picture: np.ndarray, relevance: np.ndarray | None, *, view: str = HEATMAP_VIEWS[0]) -> go.Figure:
    """The relevance (red for a crack, blue against), over the photo or alone, zoomable, with a colour bar
    that saturates at the 99.5th percentile of |relevance| (cracklib.render.relevance_scale).

    ``picture`` is the photo at display size; it goes to the browser as a JPEG, not as numbers.
    """
    alone = view == HEATMAP_VIEWS[1]
    figure = go.Figure(go.Image(source=_jpeg_uri(np.full_like(picture, 255) if alone else picture)))
    if relevance is not None:
        values = preview(relevance, HEATMAP_SIDE)
        top = relevance_scale(values)
        figure.add_trace(go.Heatmap(z=values, colorscale=RELEVANCE_COLORS, zmin=-top, zmax=top,
                                    colorbar=dict(title=f"relevance<br>(±{RELEVANCE_PERCENTILE}th pct<br>of |R|)"),
                                    hovertemplate="relevance %{z:.3g}<extra></extra>",
                                    x0=0, dx=picture.shape[1] / values.shape[1],
                                    y0=0, dy=picture.shape[0] / values.shape[0]))
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=360)
    figure.update_xaxes(visible=False, range=[0, picture.shape[1]])
    figure.update_yaxes(visible=False, range=[picture.shape[0], 0])
    return figure


def _jpeg_uri(picture: np.ndarray) -> str:
    """A display copy as a data URI (JPEG: a tenth of a PNG's time and size for a photo)."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def pr_figure(curves: list[PRCurve]) -> go.Figure:
    """Precision-recall curves, each with its mask's operating point as a dot of the same colour."""
    figure = go.Figure()
    # Dark24 has 24 distinct colours: a grid of methods × thresholds never repeats one.
    palette = plotly.colors.qualitative.Dark24
    for index, curve in enumerate(curves):
        color = palette[index % len(palette)]
        figure.add_trace(go.Scatter(x=curve.recall, y=curve.precision, mode="lines", name=curve.label,
                                    line=dict(color=color), legendgroup=curve.label))
        if curve.point is not None:
            figure.add_trace(go.Scatter(x=[curve.point[0]], y=[curve.point[1]], mode="markers",
                                        marker=dict(size=11, color=color), name=f"{curve.label}: current mask",
                                        legendgroup=curve.label))
    figure.update_layout(xaxis=dict(title="recall", range=[0, 1]), yaxis=dict(title="precision", range=[0, 1.02]),
                         height=360, margin=dict(l=0, r=0, t=10, b=0))
    return figure


def probability_figure(explanation: Explanation, *, side: int = 400) -> go.Figure:
    """The tile-probability map (about ``side`` pixels across): where the classifier sees cracks."""
    step = max(1, ceil_div(max(explanation.image_shape), side))
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


#: Where "folder on the server" may look: CRACKLIB_DATA_ROOTS (paths joined by the OS path separator),
#: by default ../shared/data beside the project. Nothing outside these roots is listed or read.
DATA_ROOTS_VARIABLE = "CRACKLIB_DATA_ROOTS"


def server_data_folders() -> dict[str, Path]:
    """Name → folder for every data folder directly under the configured data roots."""
    default = Path(__file__).resolve().parent.parent / "shared" / "data"
    roots = [Path(p) for p in os.environ.get(DATA_ROOTS_VARIABLE, str(default)).split(os.pathsep) if p]
    return {folder.name: folder for root in roots if root.is_dir()
            for folder in sorted(root.iterdir()) if folder.is_dir() and not folder.name.startswith(".")}


#: Where the Campaign page looks for finished campaigns (folders holding results.csv): CRACKLIB_CAMPAIGN_ROOTS
#: (paths joined by the OS path separator), by default campaigns/ in the project. Nothing else is listed.
CAMPAIGN_ROOTS_VARIABLE = "CRACKLIB_CAMPAIGN_ROOTS"


def server_campaigns() -> dict[str, Path]:
    """Name → folder for every finished campaign directly under the configured campaign roots."""
    default = Path(__file__).resolve().parent / "campaigns"
    roots = [Path(p) for p in os.environ.get(CAMPAIGN_ROOTS_VARIABLE, str(default)).split(os.pathsep) if p]
    return {folder.name: folder for root in roots if root.is_dir()
            for folder in sorted(root.iterdir()) if (folder / "results.csv").is_file()}


@st.cache_resource(show_spinner="Running the example campaign on the bundled samples…")
def example_campaign(weights: str = str(DEFAULT_WEIGHTS)) -> Path:
    """A campaign over the bundled samples with the default settings, run once per server (the page's default)."""
    from cracklib.batch import run_campaign
    from cracklib.synthetic import write_sample_dataset

    work = Path(tempfile.gettempdir()) / f"cracklib_campaign_example_{Path(weights).stem}"
    samples = write_sample_dataset(work / "samples")
    run_campaign(samples, work / "campaign", weights=weights)  # resumable: finished photos are not redone
    return work / "campaign"


#: Unpacked zips are removed this long after their last use, and the oldest first beyond the disk budget.
UPLOAD_TTL_S, UPLOAD_BUDGET_BYTES = 3600, 8 * 2**30
#: Staging folders of an extraction that died (a crash mid-unpack) are removed after this long.
STAGING_TTL_S = 3600


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def sweep_uploads(*, keep: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove unpacked zips unused for UPLOAD_TTL_S, then the least recently used beyond UPLOAD_BUDGET_BYTES.

    Streamlit tells the app nothing when a session ends, so the temp folder is
    swept on every unpack instead; ``keep`` (the folder being used) is never
    removed. Returns the removed folders.
    """
    now = time.time() if now is None else now
    temp = Path(tempfile.gettempdir())
    removed = [staging for staging in temp.glob("cracklib_unpacking_*")
               if staging.is_dir() and now - staging.stat().st_mtime > STAGING_TTL_S]
    uploads = sorted((folder for folder in temp.glob("cracklib_upload_*") if folder.is_dir() and folder != keep),
                     key=lambda folder: folder.stat().st_mtime, reverse=True)  # most recently used first
    used = _folder_bytes(keep) if keep is not None and keep.is_dir() else 0
    for folder in uploads:
        size = _folder_bytes(folder)
        if now - folder.stat().st_mtime > UPLOAD_TTL_S or used + size > UPLOAD_BUDGET_BYTES:
            removed.append(folder)
        else:
            used += size
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def unpacked_zip(data: bytes, name: str) -> Path:
    """An uploaded zip unpacked once into a temporary folder named by its digest; returns the data folder.

    Each use marks the folder as used now; older unpacked zips are swept (:func:`sweep_uploads`).
    """
    target = Path(tempfile.gettempdir()) / f"cracklib_upload_{digest(data)}"
    if target.exists():
        os.utime(target)
    sweep_uploads(keep=target)
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix="cracklib_unpacking_"))
        try:
            extract_zip(data, staging, name=name)  # raises before anything lands in ``target``
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # a refused zip leaves nothing behind
            raise
        staging.rename(target)
    return data_root(target)
