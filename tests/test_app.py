"""The Streamlit app through streamlit.testing.v1.AppTest."""
from pathlib import Path

from streamlit.testing.v1 import AppTest


APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def test_first_open_shows_a_bundled_sample_with_its_result():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "bundled sample" in at.info[0].value
    metrics = _metrics(at)
    assert float(metrics["Crack probability"]) > 0.5
    assert int(metrics["Area (px)"].replace(",", "")) > 0


def test_threshold_change_changes_the_numbers():
    at = AppTest.from_file(APP, default_timeout=120).run()
    before = _metrics(at)["Area (px)"]
    threshold = next(s for s in at.sidebar.selectbox if s.label == "Threshold")
    threshold.set_value("percentile").run()
    assert not at.exception
    assert _metrics(at)["Area (px)"] != before


def test_post_processing_change_changes_the_area():
    at = AppTest.from_file(APP, default_timeout=120).run()
    before = _metrics(at)["Area (px)"]
    next(s for s in at.sidebar.selectbox if s.label == "Post-processing").set_value("paper").run()
    assert not at.exception
    assert _metrics(at)["Area (px)"] != before
