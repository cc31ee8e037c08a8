"""Small widgets the pages share: a progress bar, pictures scaled for the browser, a select box that
keeps its choice, table row selection, page events, text and numbers made safe and short for the page (markdown
escaped, rounded table cells, a model card's metrics as table rows)."""
from __future__ import annotations

import re
import time
from contextlib import contextmanager

import numpy as np
import streamlit as st

from cracklib.io.render import preview

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


#: ASCII punctuation, which markdown reads as syntax (links, images, emphasis, HTML, colours, maths) unless
#: escaped with a backslash (CommonMark: any ASCII punctuation may be).
_MARKDOWN_SYNTAX = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: object) -> str:
    """``text`` escaped for Streamlit's markdown (``st.markdown``, ``st.error``, ``st.subheader``, captions), so
    that a file name or a message from a file is shown as the characters it holds: ``[x](http://…)`` stays
    literal and no outside image is fetched. Line breaks are kept."""
    return _MARKDOWN_SYNTAX.sub(r"\\\1", str(text))


def table_numbers(row: dict, *, digits: int = 3) -> dict:
    """A row of numbers for a table: floats rounded to ``digits``, NaN as a blank cell."""
    return {key: (None if value != value else round(value, digits)) if isinstance(value, float) else value
            for key, value in row.items()}


def choice_box(label: str, options: list[str], default: str, **kwargs) -> str:
    return st.selectbox(label, options, index=options.index(default) if default in options else 0, **kwargs)


def selected_rows(key: str) -> list[int]:
    """The rows selected in the dataframe widget ``key`` on the last run (before the widget is drawn again)."""
    state = st.session_state.get(key)
    return list(state["selection"]["rows"]) if state else []


#: Where a page notes when things were drawn (``time.perf_counter``), for benchmarks/speed/app_latency.py.
PAGE_EVENTS = "page_events"


def mark_page_event(event: str) -> None:
    """Note the time of a page event ("mask drawn"), read by benchmarks/speed/app_latency.py through AppTest."""
    st.session_state.setdefault(PAGE_EVENTS, {})[event] = time.perf_counter()


def show_image(image: np.ndarray, caption: str, container=st) -> None:
    container.image(preview(image, DISPLAY_SIDE), caption=caption, width="stretch")


#: Decimals of the test metrics (their test splits hold tens to a thousand photos: a fourth digit is noise).
METRIC_DECIMALS = 3


def _metric_text(value) -> str:
    """A metric as shown: counts whole, rates to three decimals, a missing one as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:.{METRIC_DECIMALS}f}"


#: The cards' metric keys in words.
METRIC_NAMES = {"n": "photos", "balanced_accuracy": "balanced accuracy", "tpr": "true-positive rate",
                "tnr": "true-negative rate", "auc": "ROC AUC"}


def _metric_columns(values: dict) -> dict:
    return {METRIC_NAMES.get(key, key.replace("_", " ")): _metric_text(value) for key, value in values.items()}


def metric_rows(section) -> list[dict]:
    """One row per data set of a card's metrics section (``{set: {metric: value}}``), or one row of its values."""
    if isinstance(section, dict) and section and all(isinstance(v, dict) for v in section.values()):
        return [{"data set": name, **_metric_columns(values)} for name, values in section.items()]
    if isinstance(section, dict):
        return [_metric_columns(section)]
    return [{"value": _metric_text(section)}]
