"""The Growth and About pages through AppTest: colours named in words, each measure on its own axis with round
ticks; the model named as users know it, its test metrics as a table."""
import json
import math
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300

# Both pages load the shipped default model (and Growth explains five frames).
pytestmark = pytest.mark.slow


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def _texts(at) -> list[str]:
    """Every text the page shows in markdown, captions, code, plain text, alerts and titles."""
    kinds = ("markdown", "caption", "code", "text", "info", "warning", "error", "title", "subheader", "header")
    return [str(element.value) for kind in kinds for element in at.get(kind)]


def test_growth_names_colours_in_words_and_draws_each_measure_on_its_own_axis():
    at = _page("growth")
    assert not any(re.search(r"\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)", text) for text in _texts(at))
    assert any("orange" in caption.value and "magenta" in caption.value for caption in at.caption)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    axis_of = {trace["name"]: trace.get("yaxis", "y") for trace in spec["data"]}
    width_axis = axis_of.pop("max width (px)")
    assert width_axis not in axis_of.values()  # not drawn on the length's (or the area's) axis
    layout = spec["layout"]
    for axis in {width_axis, *axis_of.values()}:
        settings = layout["yaxis" + axis[1:]]
        assert "overlaying" not in settings
        step = settings["dtick"]  # round ticks of whole pixels: 1, 2 or 5 times a power of ten, from 0
        assert step >= 1 and step / 10 ** math.floor(math.log10(step)) in (1, 2, 5), settings
        assert settings.get("tick0", 0) == 0


def test_about_names_the_weights_without_a_server_path_and_shows_the_metrics_as_a_table():
    at = _page("about")
    shown = "\n".join(_texts(at) + [str(element.value) for element in at.sidebar.caption])
    assert str(ROOT) not in shown and "/weights/" not in shown
    assert any(element.value.startswith("**default**") for element in at.markdown)  # the sidebar's name for it
    tables = [element.value for element in at.dataframe]
    assert tables, "the test metrics are shown as tables"
    numbers = [str(cell) for table in tables for cell in table.to_numpy().ravel()]
    assert any(re.fullmatch(r"0\.\d{3}", cell) for cell in numbers)
    assert not any(re.fullmatch(r"-?\d+\.\d{4,}", cell) for cell in numbers)  # three decimals at most
    assert not any("test_metrics" in str(element.value) or "balanced_accuracy" in str(element.value)
                   for element in at.get("json"))  # no raw JSON tree of the metrics
    text = "\n".join(element.value for element in at.markdown)
    for step in ("Classify", "Explain", "Threshold", "Refine", "Post-process", "Measure", "B-cos", "NN-Explainer",
                 "distilled", "unet"):
        assert step in text, step
