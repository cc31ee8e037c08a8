"""The studio's caches: models loaded once per server, explanations bounded in bytes and shared by the
pages, cuts and measured masks, growth reports and the example campaign."""
from __future__ import annotations

import gc
import hashlib
import json
import os
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import cachetools
import numpy as np
import streamlit as st

from cracklib.errors import CrackInputError
from cracklib.io.imageio import read_image
from cracklib.io.render import preview, relevance_preview
from cracklib.io.synthetic import growth_series, write_sample_dataset
from cracklib.mask.refine import DarknessMap
from cracklib.mask.threshold import Thresholded
from cracklib.pipeline.classifier import DEFAULT_WEIGHTS, Classifier, load_classifier
from cracklib.pipeline.explanation import explain
from cracklib.pipeline.mask_step import cut_explanation, segment_explanation
from cracklib.pipeline.results import Explanation, SegmentationResult
from cracklib.pipeline.settings import ExplanationSettings, MaskSettings, PipelineConfig
from cracklib.run.batch import run_campaign, true_crack_pixels
from cracklib.run.export import png_bytes
from cracklib.run.faithfulness import FaithfulnessReport, faithfulness_report
from cracklib.run.growth import GrowthReport, monitor_growth
from cracklib.studio.widgets import DISPLAY_SIDE, plain, progress_bar


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
    #: The relevance reduced to DISPLAY_SIDE keeping each block's strongest value, made once too (None when the
    #: photo was not explained).
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


#: A faithfulness report holds a few curves of 20 points: counted as this much, so that the explanation cache's
#: byte budget still bounds how many it keeps.
REPORT_BYTES = 2**16


#: What the explanation cache holds: uploads explained, their cuts, their measured masks and faithfulness reports.
Entry = Explained | Thresholded | SegmentationResult | FaithfulnessReport


def _arrays(entry: Entry) -> list[np.ndarray]:
    """The arrays an entry holds of its own: a measured mask's score map is its cut's, and its photo,
    darkness and explanation are its upload's (the upload's entry, used just before, is evicted first and the
    measured masks soon after, so the time they outlive it uncounted is short)."""
    if isinstance(entry, Thresholded):
        return [entry.score, entry.mask]
    if isinstance(entry, SegmentationResult):
        return [entry.mask]
    if isinstance(entry, FaithfulnessReport):
        return []  # a few small curves, counted as REPORT_BYTES
    return [a for a in (entry.image, entry.picture, entry.heat, entry.explanation.relevance,
                        entry.explanation.support, entry.explanation.tile_probabilities) if a is not None]


def _nbytes(entry: Entry) -> int:
    owners = {id(owner): owner for owner in map(_owner, _arrays(entry))}  # each buffer once
    darkness = entry.darkness.nbytes if isinstance(entry, Explained) and entry.darkness else 0
    report = REPORT_BYTES if isinstance(entry, FaithfulnessReport) else 0
    return sum(owner.nbytes for owner in owners.values()) + darkness + report


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
        with progress_bar(f"Explaining {plain(name)} ({settings.method})", "tile") as progress:
            explained = explain(classifier(weights), image, settings, progress=progress)
        heat = None if explained.relevance is None else relevance_preview(explained.relevance, DISPLAY_SIDE)
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

    return explanation_cache().get((explained.key, settings.threshold, settings.refine, settings.darkness_width,
                                    settings.polarity), compute)


def measured(explained: Explained, settings: MaskSettings, *, exclude: np.ndarray | None = None
             ) -> SegmentationResult:
    """The explanation's measured mask for these mask settings and region to ignore (its cut, post-processed;
    severity measured when first read), cached beside its explanation: a rerun that changes nothing of the mask
    (a crack selected in the table) or a threshold measured in the background (:func:`prefetch_measured`) only
    draws.

    Post-processing and severity take about 0.2 s on a 12 MP photo (``benchmarks/speed/mask_step.py``).
    """
    def compute() -> SegmentationResult:
        return segment_explanation(explained.explanation, settings, photo=explained.image, exclude=exclude,
                                   darkness=explained.darkness, thresholded=cut(explained, settings))

    excluded = None if exclude is None else hashlib.sha256(np.packbits(exclude)).hexdigest()
    return explanation_cache().get((explained.key, settings, excluded), compute)


def faithfulness(explained: Explained, weights: str, truth: np.ndarray | None = None) -> FaithfulnessReport:
    """The faithfulness, localisation (against ``truth``) and randomisation report of one upload's explanation
    (:func:`cracklib.run.faithfulness_report`), cached beside it: per method, like the explanations, so that a
    rerun or another method added draws the others at once. A progress bar shows the tiles and the steps."""
    def compute() -> FaithfulnessReport:
        with progress_bar(f"Measuring the faithfulness of {explained.explanation.settings.method}",
                          "step") as progress:
            return faithfulness_report(classifier(weights), explained.image, explained.explanation, truth=truth,
                                       progress=progress)

    truth_key = None if truth is None else hashlib.sha256(np.packbits(truth)).hexdigest()
    return explanation_cache().get((explained.key, "faithfulness", truth_key), compute)


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
    """:func:`cracklib.run.growth.monitor_growth` on uploads, cached; unreadable frames are skipped and named."""
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


def _example_samples(weights: str) -> Path:
    """The bundled samples as a data folder (photos and their true masks), where the example campaign runs."""
    return write_sample_dataset(Path(tempfile.gettempdir()) / f"cracklib_campaign_example_{Path(weights).stem}"
                                / "samples")


@st.cache_resource(show_spinner="Running the example campaign on the bundled samples…")
def example_campaign(weights: str = str(DEFAULT_WEIGHTS)) -> Path:
    """A campaign over the bundled samples with the default settings, run once per server (the page's default).

    All the samples are in it, the brick wall the default model misses too: the page notes each decision that
    the samples' true masks contradict (:func:`example_truth`) rather than leave the miss out.
    """
    samples = _example_samples(weights)
    run_campaign(samples, samples.parent / "campaign", weights=weights)  # resumable: finished photos are not redone
    return samples.parent / "campaign"


@st.cache_resource(show_spinner=False)
def example_truth(weights: str = str(DEFAULT_WEIGHTS)) -> dict[str, int]:
    """The true crack pixels of the example campaign's photos, by their name in it (from the samples' masks)."""
    return true_crack_pixels(_example_samples(weights))
