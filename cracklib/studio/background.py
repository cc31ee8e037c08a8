"""Work the studio does in the background while the user looks: measuring the masks the page will show
next, only while no page run is going on (one worker, never competing with a click)."""
from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable

from cracklib.mask.threshold import THRESHOLDS
from cracklib.pipeline.settings import MaskSettings
from cracklib.studio.cache import Explained, measured

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
