"""Every page of the Streamlit studio through streamlit.testing.v1.AppTest."""
import io
import json
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from helpers import unescaped

from cracklib import studio
from cracklib.studio import cache
from cracklib.run import png_bytes
from cracklib.io import bundled_samples, growth_series
from cracklib.mask import THRESHOLDS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 300

# Every page loads the shipped default model.
pytestmark = pytest.mark.slow


def _open(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def _sidebar(at, label):
    return next(s for s in at.sidebar.selectbox if s.label == label)


def _bundled(index=2):
    image, mask = bundled_samples()[index]
    return image.name, image.read_bytes(), mask.read_bytes()


# Segment

def test_segment_first_open_shows_the_sample_with_its_ground_truth_scores():
    at = _open()
    assert "bundled sample" in at.info[0].value
    metrics = _metrics(at)
    assert float(metrics["Crack probability"]) > 0.5
    assert int(metrics["Area (px)"].replace(",", "")) > 0
    assert 0 < float(metrics["F1"]) <= 1 and "IoU" in metrics
    assert len(at.get("plotly_chart")) == 2  # tile probabilities, PR curve (the relevance is a picture)
    labels = [button.label for button in at.get("download_button")]
    assert "Everything (zip)" in labels and "Numbers (CSV)" in labels


def _clear_caches():
    studio.BACKGROUND.submit(lambda: None).result()  # no background cut of an earlier test lands after the clear
    st.cache_data.clear()
    studio.explanation_cache().clear()


def test_segment_threshold_change_changes_the_numbers_without_recomputing(monkeypatch):
    _clear_caches()  # first: an earlier test's background cuts are not counted here
    calls, cuts, measures = [], [], []
    original, original_cut, original_measure = cache.explain, cache.cut_explanation, cache.segment_explanation
    monkeypatch.setattr(cache, "explain", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setattr(cache, "cut_explanation", lambda e, mask, **k: cuts.append(mask.threshold)
                        or original_cut(e, mask, **k))
    monkeypatch.setattr(cache, "segment_explanation", lambda e, mask, **k: measures.append((mask.threshold, mask.post))
                        or original_measure(e, mask, **k))
    at = _open()
    default = _sidebar(at, "Threshold").value
    other_mixture = "bmm" if default == "gmm" else "gmm"
    studio.BACKGROUND.submit(lambda: None).result()  # the background cuts made so far are done
    # The page's own cut first, then every other threshold in the background, in the sidebar's order.
    assert cuts == [default] + [name for name in THRESHOLDS if name != default]
    before = _metrics(at)["Area (px)"]
    _sidebar(at, "Threshold").set_value("percentile").run()
    assert not at.exception
    assert _metrics(at)["Area (px)"] != before
    _sidebar(at, "Post-processing").set_value("paper").run()
    assert len(calls) == 1  # one explanation; threshold and post-processing reuse it
    _sidebar(at, "Threshold").set_value(default).run()
    assert _metrics(at)["Area (px)"] == before  # the default settings again: the kept cut, the same mask
    _sidebar(at, "Threshold").set_value(other_mixture).run()
    assert not at.exception
    studio.BACKGROUND.submit(lambda: None).result()
    # Each cut made once and kept: no change cut again.
    assert sorted(cuts) == sorted(THRESHOLDS)
    at.run()  # a rerun that changes nothing (a crack selected in the table) measures nothing
    studio.BACKGROUND.submit(lambda: None).result()
    # Each mask measured once, every threshold at every post-processing the page was shown with.
    posts = {post for _, post in measures}
    assert sorted(measures) == sorted((threshold, post) for threshold in THRESHOLDS for post in posts)
    _sidebar(at, "LRP rule set").set_value("seibold").run()
    assert len(calls) == 2


def test_segment_page_namespace_is_not_left_in_a_reference_cycle():
    """Issue 13: a page run's photo, maps and masks are freed when the run ends, not when the cyclic collector
    happens to run (a download callable defined in the page kept its namespace in a cycle)."""
    import gc

    at = _open()
    gc.collect()
    gc.disable()
    try:
        _sidebar(at, "Threshold").set_value("simple").run()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        pages = [o for o in gc.garbage if isinstance(o, dict) and str(o.get("__file__", "")).endswith("segment.py")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not at.exception
    assert not pages


def test_segment_reads_widths_on_the_photo_unless_told_to_use_the_mask():
    at = _open()
    # Unrefined, the mask is the explanation's band; widths are read on its dark core unless told otherwise.
    _sidebar(at, "Refine with the photo").set_value("none").run()
    area = _metrics(at)["Area (px)"]
    on_photo = float(_metrics(at)["Max / mean width (px)"].split("/")[1])
    _sidebar(at, "Crack widths read on").set_value("mask").run()
    assert not at.exception
    on_mask = float(_metrics(at)["Max / mean width (px)"].split("/")[1])
    assert on_photo < on_mask  # the dark core is narrower than the explanation's band
    assert _metrics(at)["Area (px)"] == area  # the mask itself is the same


def test_segment_darkness_square_changes_the_refined_mask_and_is_off_per_photo_or_without_refinement():
    at = _open()
    per_photo = next(c for c in at.sidebar.checkbox if c.label.startswith("Size the darkness square"))
    area = _metrics(at)["Area (px)"]
    per_photo.set_value(False).run()
    square = next(s for s in at.sidebar.slider if s.label.startswith("Widest crack"))
    assert not square.disabled
    square.set_value(5).run()
    assert not at.exception
    # A 5-px square is narrower than most of the sample's crack: fewer of its pixels are darker than their surround.
    assert int(_metrics(at)["Area (px)"].replace(",", "")) < int(area.replace(",", ""))
    next(c for c in at.sidebar.checkbox if c.label.startswith("Size the darkness square")).set_value(True).run()
    assert next(s for s in at.sidebar.slider if s.label.startswith("Widest crack")).disabled  # sized per photo
    _sidebar(at, "Refine with the photo").set_value("none").run()
    assert next(s for s in at.sidebar.slider if s.label.startswith("Widest crack")).disabled
    assert next(c for c in at.sidebar.checkbox if c.label.startswith("Size the darkness square")).disabled


def test_segment_lists_each_crack_and_leaves_out_the_regions_to_ignore():
    at = _open()
    cracks = at.dataframe[0].value  # the per-crack table comes first
    assert list(cracks.columns[:2]) == ["id", "length_px"] and len(cracks) == int(_metrics(at)["Cracks"])
    assert (cracks["length_px"].diff().dropna() <= 0).all()  # longest first
    name, data, _ = _bundled()
    from cracklib.io import read_image
    shape = read_image(data).shape[:2]
    at.file_uploader[0].set_value((name, data, "image/png")).run()
    assert int(_metrics(at)["Area (px)"].replace(",", "")) > 0
    ignore = name.replace(".png", "_ignore.png")
    at.file_uploader[2].set_value((ignore, png_bytes(np.ones(shape, bool)), "image/png")).run()
    assert not at.exception and _metrics(at)["Area (px)"] == "0"
    at.file_uploader[2].set_value((ignore, png_bytes(np.ones((5, 5), bool)), "image/png")).run()
    assert any("mask is 5x5" in error.value for error in at.error)


def test_segment_uploads_with_a_bad_file_and_a_mismatched_mask():
    name, image, mask = _bundled(2)
    other, other_image, _ = _bundled(0)
    at = _open()
    at.file_uploader[0].set_value([(name, image, "image/png"), ("broken.png", b"not an image", "image/png"),
                                   (other, other_image, "image/png")])
    small_mask = png_bytes(np.zeros((10, 10), bool))
    at.file_uploader[1].set_value([(name.replace(".png", "_mask.png"), mask, "image/png"),
                                   (other.replace(".png", "_mask.png"), small_mask, "image/png")])
    at.run()
    assert not at.exception
    errors = [unescaped(error.value) for error in at.error]
    assert any("broken.png" in e and "not an image" in e for e in errors)
    assert any("mask is 10x10" in e for e in errors)
    assert len([m for m in at.metric if m.label == "Crack probability"]) == 2  # both good photos processed
    assert len([m for m in at.metric if m.label == "F1"]) == 1  # the good mask scored, the bad one not


def test_segment_two_uploads_with_the_same_name_are_both_processed():
    name, image, _ = _bundled(2)
    other, other_image, _ = _bundled(3)
    at = _open()
    at.file_uploader[0].set_value([(name, image, "image/png"), (name, other_image, "image/png")]).run()
    assert not at.exception, at.exception
    assert len([m for m in at.metric if m.label == "Crack probability"]) == 2
    assert [h.value for h in at.subheader][:2] == [studio.plain(name), studio.plain(name.replace(".png", " (2).png"))]


def test_segment_two_photos_of_one_stem_keep_their_own_widgets_and_files():
    name, image, _ = _bundled(2)
    _, other_image, _ = _bundled(3)
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(other_image)).convert("RGB").save(jpeg, format="JPEG")
    at = _open()
    at.file_uploader[0].set_value([(name, image, "image/png"),
                                   (name.replace(".png", ".jpg"), jpeg.getvalue(), "image/jpeg")]).run()
    assert not at.exception, at.exception
    assert len([m for m in at.metric if m.label == "Crack probability"]) == 2
    stem = name.removesuffix(".png")
    keys = [button.key for button in at.get("download_button") if button.key]
    assert any(key.endswith(f"_{stem}_mask.png") for key in keys)
    assert any(key.endswith(f"_{stem} (2)_mask.png") for key in keys) and len(keys) == len(set(keys)) == 10


def test_segment_shows_file_names_and_errors_as_text_not_markdown():
    evil = "**bold** [link](http:evil.example) :red[red].png"
    _, image, _ = _bundled(2)
    at = _open()
    at.file_uploader[0].set_value([(evil, image, "image/png"), ("![t](https://x.example).png", b"", "image/png")])
    at.run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == studio.plain(evil)
    assert "](" not in at.error[0].value and "\\!\\[t\\]" in at.error[0].value  # escaped, so shown as typed


def test_segment_says_so_when_masks_come_without_photos_and_accepts_any_file_type():
    _, _, mask = _bundled(2)
    at = _open()
    at.file_uploader[1].set_value([("photo_mask.png", mask, "image/png")]).run()
    assert not at.exception
    assert "1 mask file(s) uploaded but no photo" in at.warning[0].value
    # A file type the browser used to refuse with a small icon now gets a sentence.
    at.file_uploader[0].set_value([("animation.gif", b"GIF89a not really", "image/gif")]).run()
    assert "animation.gif: not an image" in unescaped(at.error[0].value)


def test_segment_draws_the_relevance_as_a_picture_beside_the_mask_with_words_for_its_colours():
    at = _open()
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert captions[0].startswith("Relevance: red: evidence of a crack") and captions[1].startswith("Crack mask")
    # No fixed-height figure of the photo any more (tests/test_studio.py checks the picture's size).
    charts = [json.loads(chart.proto.spec)["data"] for chart in at.get("plotly_chart")]
    assert all(trace["type"] != "image" for traces in charts for trace in traces)


def test_the_sidebar_offers_each_method_the_thresholds_and_baselines_that_suit_it():
    at = _open()
    assert "probability" not in _sidebar(at, "Threshold").options and "gmm" in _sidebar(at, "Threshold").options
    _sidebar(at, "XAI method").set_value("unet").run()
    assert "probability" in _sidebar(at, "Threshold").options
    assert _sidebar(at, "Threshold").value == "probability"
    _sidebar(at, "XAI method").set_value("integrated_gradients").run()
    assert "damage_free_sample" not in _sidebar(at, "Baseline").options  # its mean: damage_free_mean exactly
    _sidebar(at, "XAI method").set_value("gradient_shap").run()
    assert "damage_free_sample" in _sidebar(at, "Baseline").options


def test_a_bcos_model_gets_its_own_method_and_never_lrp():
    at = _open()
    _sidebar(at, "Model").set_value("bcos").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _sidebar(at, "XAI method").value == "bcos" and "lrp" not in _sidebar(at, "XAI method").options
    at.switch_page("pages/compare.py").run()
    assert not at.exception and not at.error
    methods = list(at.dataframe[0].value["method"])
    assert methods[0] == "bcos" and not any(method.startswith("lrp") for method in methods)


# Compare

def test_compare_shows_every_chosen_method_with_its_time_and_pr_curve():
    at = _open("compare")
    assert "bundled sample" in at.info[0].value
    table = at.dataframe[0].value
    assert list(table["method"]) == ["lrp (epsilon_gamma_box)", "lrp (montavon)", "deeplift (damage_free_mean)",
                                     "grad_cam", "unet", "distilled"]
    assert (table["seconds"] > 0).all() and table["f1"].between(0, 1).all()
    # The masks are yellow, apart from the relevance's red and blue; a network's map is its crack probability.
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert sum(caption.startswith("mask (yellow)") for caption in captions) == 6
    assert sum(caption == "the network's crack probability (red)" for caption in captions) == 2
    assert any("Each dot: the mask shown" in caption.value for caption in at.caption)  # what the PR chart shows
    at.multiselect[0].set_value(["lrp (seibold)", "saliency"]).run()
    assert list(at.dataframe[0].value["method"]) == ["lrp (seibold)", "saliency"]


def test_compare_explains_only_what_changed_and_dots_share_their_curve_colour(monkeypatch):
    import json

    calls = []
    original = cache.explain
    monkeypatch.setattr(cache, "explain", lambda *a, **k: calls.append(a[2].method) or original(*a, **k))
    _clear_caches()
    at = _open("compare")
    assert len(calls) == 6
    at.multiselect[0].set_value(["lrp (epsilon_gamma_box)", "lrp (montavon)", "deeplift", "grad_cam",
                                 "distilled", "unet", "saliency"]).run()
    assert calls[6:] == ["saliency"]                                    # only the new method
    _sidebar(at, "Threshold").set_value("simple").run()
    assert len(calls) == 7                                              # a threshold change explains nothing
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    lines = {t["name"]: t["line"]["color"] for t in traces if t["mode"] == "lines"}
    dots = {t["name"].removesuffix(": the mask shown"): t["marker"]["color"] for t in traces if t["mode"] == "markers"}
    assert dots == lines and len(set(lines.values())) == 7
    # One legend entry per method, all seven of them (the dots share their line's entry).
    assert sorted(t["name"] for t in traces if t.get("showlegend", True)) == sorted(lines)


def test_compare_measures_faithfulness_on_demand_and_draws_it_again_from_the_cache(monkeypatch):
    from cracklib.run import faithfulness as faithfulness_module

    calls = []
    original = cache.faithfulness_report
    monkeypatch.setattr(cache, "faithfulness_report",
                        lambda *a, **k: calls.append(a[2].settings.method) or original(*a, **k))
    _clear_caches()
    at = _open("compare")
    assert "deletion_auc" not in at.dataframe[0].value.columns and not calls  # not before it is asked for
    at.multiselect[0].set_value(["lrp (epsilon_gamma_box)", "grad_cam", "unet"]).run()
    next(button for button in at.button if button.label == "Measure faithfulness").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["deletion_auc"].notna().tolist() == [True, True, False]  # the U-Net explains no classifier
    # Against the bundled ground truth every map is placed, the U-Net's probability too.
    assert table["relevance_mass_accuracy"].notna().tolist() == [True, True, True]
    sentences = [unescaped(caption.value) for caption in at.caption]
    assert any(s.startswith("grad_cam: The map") and "top layers" in s for s in sentences)
    assert any(s.startswith("unet: unet is a segmentation network") for s in sentences)
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    curves = {trace["name"] for chart in charts[:1] for trace in chart["data"]}
    assert curves == {"lrp (epsilon_gamma_box)", "grad_cam"}
    randomisation = charts[1]["data"]
    assert [trace["name"] for trace in randomisation] == ["lrp (epsilon_gamma_box)", "grad_cam"]
    assert randomisation[0]["x"][0] == faithfulness_module.cascade_steps(studio.classifier().model)[0].label
    assert sorted(calls) == ["grad_cam", "lrp", "unet"]
    _sidebar(at, "Threshold").set_value("simple").run()  # a rerun: every report from the cache
    at.multiselect[0].set_value(["lrp (epsilon_gamma_box)", "grad_cam", "unet", "saliency"]).run()
    assert sorted(calls) == ["grad_cam", "lrp", "saliency", "unet"]  # only the method added is measured


def test_compare_bad_upload_gives_one_error():
    at = _open("compare")
    at.file_uploader[0].set_value(("empty.png", b"", "image/png")).run()
    assert not at.exception and len(at.error) == 1 and "empty.png: empty file" in unescaped(at.error[0].value)


# Growth

def test_growth_first_open_shows_the_synthetic_series_growing():
    at = _open("growth")
    frames = at.dataframe[0].value
    assert len(frames) == 5 and frames["area_px"].iloc[-1] > frames["area_px"].iloc[0]
    assert len(at.dataframe[1].value) == 4  # steps
    import json

    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert layout["yaxis"]["rangemode"] == "tozero" and layout["yaxis2"]["rangemode"] == "tozero"


def test_growth_upload_skips_an_unreadable_frame_and_keeps_the_rest():
    series = growth_series((200, 260), steps=3, rng=4, max_shift=5)
    at = _open("growth")
    frames = [(f"f{i}.png", png_bytes(frame), "image/png") for i, frame in enumerate(series.frames)]
    at.file_uploader[0].set_value(frames + [("f9.png", b"\x89PNG truncated", "image/png")]).run()
    assert not at.exception
    assert any("f9.png" in unescaped(error.value) for error in at.error)
    assert list(at.dataframe[0].value["image"]) == ["f0.png", "f1.png", "f2.png"]


def test_growth_single_frame_is_an_error():
    at = _open("growth")
    at.file_uploader[0].set_value(("one.png", png_bytes(growth_series(steps=2, rng=1).frames[0]), "image/png")).run()
    assert not at.exception and "two or more" in at.error[0].value


# Evaluate

def test_evaluate_runs_on_the_bundled_samples_with_a_table_and_csv():
    at = _open("evaluate")
    at.multiselect[0].set_value(["lrp (montavon)"])
    at.multiselect[1].set_value(["simple", "gmm"])
    at.multiselect[2].set_value(["none"])
    at.button[0].click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 2 and set(table["threshold"]) == {"simple", "gmm"} and table["n_images"].iloc[0] == 3
    assert "Table (CSV)" in [button.label for button in at.get("download_button")]


def _zip(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_evaluate_refuses_a_zip_with_paths_outside_its_folder():
    before = set(Path(tempfile.gettempdir()).glob("cracklib_unpacking_*"))
    at = _open("evaluate")
    at.radio[0].set_value("zip upload").run()
    at.file_uploader[0].set_value(("evil.zip", _zip({"../evil.png": b"x"}), "application/zip")).run()
    assert not at.exception and "outside its folder" in at.error[0].value
    assert set(Path(tempfile.gettempdir()).glob("cracklib_unpacking_*")) == before  # nothing left behind


def _manifest_zip(rows: str) -> bytes:
    image, mask = (path.read_bytes() for path in bundled_samples()[2])
    return _zip({"data/images/a.png": image, "data/masks/a.png": mask,
                 "data/manifest.csv": "image,mask,label,split,group\n" + rows})


def test_evaluate_leaves_out_bad_manifest_rows_and_missing_images_and_scores_the_rest():
    rows = ("images/a.png,masks/a.png,1,test,x\n"
            "../../../../etc/hostname,,1,test,x\n"        # outside the folder
            "images/a.png,masks/a.png,yes,test,x\n"       # not a label
            "images/gone.png,masks/a.png,1,test,x\n")     # missing
    at = _open("evaluate")
    assert not any(s.label in ("Threshold", "Post-processing") for s in at.sidebar.selectbox)  # chosen below
    at.radio[0].set_value("zip upload").run()
    at.file_uploader[0].set_value(("survey.zip", _manifest_zip(rows), "application/zip")).run()
    at.multiselect[0].set_value(["lrp (montavon)"])
    at.multiselect[2].set_value(["none"])
    at.button[0].click().run()
    assert not at.exception and not at.error
    warnings = [unescaped(w.value) for w in at.warning]
    assert len(warnings) == 3 and "row 3" in warnings[0] and "row 4" in warnings[1] and "gone.png" in warnings[2]
    assert at.dataframe[0].value["n_images"].iloc[0] == 1
    assert unescaped(at.subheader[0].value).startswith("survey.zip:")
    shown = " ".join(str(element.value) for element in [*at.subheader, *at.warning, *at.info])
    assert tempfile.gettempdir() not in shown                  # no server paths


def test_evaluate_does_not_show_the_previous_folders_results_and_lists_only_data_roots(monkeypatch, tmp_path):
    (tmp_path / "survey_a").mkdir()
    monkeypatch.setenv("CRACKLIB_DATA_ROOTS", str(tmp_path))
    at = _open("evaluate")
    at.multiselect[0].set_value(["lrp (montavon)"])
    at.multiselect[2].set_value(["none"])
    at.button[0].click().run()
    assert len(at.dataframe) == 1
    at.radio[0].set_value("folder on the server").run()
    folders = next(s for s in at.selectbox if s.label == "Data folder")
    assert not at.text_input and folders.options == ["survey_a"]  # no free path to probe
    assert len(at.dataframe) == 0 and "press Run" in at.info[0].value


# Train

def test_train_a_tiny_model_and_use_it_on_the_other_pages():
    at = _open("train")
    at.number_input[0].set_value(40)  # synthetic images
    at.number_input[1].set_value(1)  # epochs
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "Trained my_model.pt" in at.success[0].value
    assert len(at.dataframe[0].value) == 1
    assert 0 <= float(_metrics(at)["Validation balanced accuracy (kept epoch)"]) <= 1
    next(b for b in at.button if b.label == "Use this model in the other pages").click().run()
    assert any(path.endswith("my_model.pt") for path in at.session_state["trained_weights"])
    at.switch_page("pages/segment.py").run()
    assert not at.exception
    assert _sidebar(at, "Model").value == "my_model (trained here)"
    # A reload is a new session: the model is still offered, found through the page's address.
    reloaded = AppTest.from_file(APP, default_timeout=300)
    reloaded.query_params["trained"] = at.query_params["trained"]
    reloaded.run()
    assert "my_model (trained here)" in _sidebar(reloaded, "Model").options
    assert all("/tmp" not in token for token in at.query_params["trained"])


def test_train_refuses_a_zip_of_one_class():
    image = png_bytes(np.zeros((64, 64, 3), np.uint8))
    at = _open("train")
    at.radio[0].set_value("zip upload").run()
    at.file_uploader[0].set_value(("one.zip", _zip({f"data/crack/{i}.png": image for i in range(6)}),
                                   "application/zip")).run()
    at.button[0].click().run()
    assert not at.exception and "both classes" in at.error[0].value


def test_train_refuses_a_model_name_that_is_a_path(tmp_path):
    at = _open("train")
    at.number_input[0].set_value(40)
    at.number_input[1].set_value(1)
    at.text_input[0].set_value(f"../../../../{tmp_path}/evil").run()
    at.button[0].click().run()
    assert not at.exception
    assert "model name" in at.error[0].value and not at.success
    assert not list(tmp_path.iterdir())  # nothing written where the name pointed


def test_a_model_at_chance_is_flagged_in_the_sidebar(tiny_weights, tmp_path):
    import json
    import shutil

    from cracklib.explain import baselines_path

    chance = tmp_path / "chance.pt"
    shutil.copy(tiny_weights, chance)
    shutil.copy(baselines_path(tiny_weights), baselines_path(chance))
    card = json.loads(tiny_weights.with_suffix(".json").read_text())
    card["notes"]["history"] = [{"epoch": 1, "val_loss": 0.69, "val_balanced_accuracy": 0.5}]
    chance.with_suffix(".json").write_text(json.dumps(card))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["trained_weights"] = [str(chance)]
    at.session_state["selected_weights"] = str(chance)
    at.run()
    assert not at.exception, at.exception
    assert any("0.50" in w.value and "not to be trusted" in w.value for w in at.sidebar.warning)
    _sidebar(at, "Model").set_value("default").run()      # the shipped default (val 0.96) is not flagged
    assert not any("not to be trusted" in w.value for w in at.sidebar.warning)
    assert not any("calibrated" in c.value for c in at.sidebar.caption)
    _sidebar(at, "Model").set_value("magnetic_tiles").run()  # its card holds a logit offset: the sidebar says so
    assert any("calibrated" in c.value and "0.82" in c.value for c in at.sidebar.caption)
    # ... and names the whole-photo model that joins its photo decision.
    assert any("whole_photo/magnetic_tiles.pt" in c.value and "decided" in c.value for c in at.sidebar.caption)


# About

def test_about_shows_the_model_card_and_the_papers():
    at = _open("about")
    assert any("Seibold" in markdown.value for markdown in at.markdown)
    assert any("From classification to segmentation" in markdown.value for markdown in at.markdown)
    import json

    training_data = json.loads(at.json[0].value)
    assert training_data["sources"]["brick_walls"]["train"]["examples"] > 0
    metrics = at.dataframe[0].value  # the test metrics, a table (tests/test_page_growth_about.py)
    assert 0.5 < float(metrics.set_index("data set").loc["brick_walls", "balanced accuracy"]) <= 1


# Concurrency

def test_concurrent_sessions_with_different_rules_get_their_own_results():
    """Sessions share one cached model; zennit changes it in place while explaining. Each session must get
    what it would get alone."""
    rules = ["montavon", "seibold", "epsilon_plus_flat", "forest"]

    def area(rule, out, index):
        at = _open()
        _sidebar(at, "LRP rule set").set_value(rule).run()
        out[index] = _metrics(at)["Area (px)"]

    alone = [None] * len(rules)
    for index, rule in enumerate(rules):
        _clear_caches()
        area(rule, alone, index)
    _clear_caches()
    together = [None] * len(rules)
    threads = [threading.Thread(target=area, args=(rule, together, index)) for index, rule in enumerate(rules)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone
    assert len(set(alone)) > 1  # the rule sets do give different masks


# Segment on a real pavement photo (needs ../shared/data; skipped without it)

NHA12D_LANES = Path(__file__).resolve().parents[2] / "shared" / "data" / "nha12d" / "images" / \
    "asphalt_pavement_vd__APVD_17.jpg"


def lane_markings(image: np.ndarray) -> np.ndarray:
    """White road paint: large bright regions (gray > 200, ≥ 5,000 px), grown by 8 px."""
    from scipy import ndimage
    from skimage import measure, morphology

    bright = image.mean(axis=2) > 200
    labels = measure.label(bright)
    sizes = np.bincount(labels.ravel())
    paint = np.isin(labels, np.flatnonzero(sizes >= 5000)) & (labels > 0)
    return ndimage.binary_dilation(paint, morphology.disk(8))


def test_segment_page_marks_no_lane_marking_on_a_real_pavement_photo(monkeypatch):
    import pytest

    from cracklib.io import read_image
    from cracklib.pipeline import MaskSettings, segment_explanation

    if not NHA12D_LANES.exists():
        pytest.skip("needs ../shared/data/nha12d")
    seen = []
    original = studio.explanation
    monkeypatch.setattr(studio, "explanation",
                        lambda *a, **k: seen.append((a[3] if len(a) > 3 else k["config"], original(*a, **k))) or
                        seen[-1][1])
    _clear_caches()
    at = _open()
    at.file_uploader[0].set_value((NHA12D_LANES.name, NHA12D_LANES.read_bytes(), "image/jpeg")).run()
    assert not at.exception and not at.error
    assert float(_metrics(at)["Crack probability"]) >= 0.5   # the photo holds a long crack
    config, explained = seen[-1]
    mask = segment_explanation(explained.explanation, MaskSettings(), photo=explained.image).mask  # what the page draws and measures
    paint = lane_markings(read_image(NHA12D_LANES))
    assert paint.sum() > 50_000                              # the photo's two markings were found
    assert mask.any()
    assert (mask & paint).sum() <= 0.01 * mask.sum(), "lane markings marked as crack"


def test_the_served_app_shows_no_tracebacks():
    import tomllib

    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] in ("type", "none")


# The segmentation networks on every page (shipped weights in weights/segmenters/)

def test_the_segmentation_networks_on_segment_compare_evaluate_and_growth():
    at = _open()
    assert _sidebar(at, "Threshold").value == "gmm"
    _sidebar(at, "XAI method").set_value("unet").run()
    # a network's own mask step by default (its 0.5, unrefined, light post-processing); back with the explanations
    assert [_sidebar(at, label).value for label in ("Threshold", "Refine with the photo", "Post-processing")] == \
        ["probability", "none", "light"]
    assert not at.exception and 0 < float(_metrics(at)["F1"]) <= 1
    assert _metrics(at)["Tiles explained"] == "1 / 1"  # one network pass over the photo, no classifier tiles
    assert not any("its own unet" in c.value for c in at.sidebar.caption)
    _sidebar(at, "Model").set_value("magnetic_tiles").run()  # the per-set model brings its own U-Net
    assert any("its own unet" in c.value and "segmenters/magnetic_tiles/unet.pt" in c.value
               and "averages its map over 8 flips and turns" in c.value for c in at.sidebar.caption)
    assert not at.exception and 0 <= float(_metrics(at)["F1"]) <= 1
    _sidebar(at, "Model").set_value("default").run()
    _sidebar(at, "XAI method").set_value("lrp").run()
    assert [_sidebar(at, label).value for label in ("Threshold", "Refine with the photo", "Post-processing")] == \
        ["gmm", "otsu_core", "paper"]
    at.switch_page("pages/compare.py").run()
    table = at.dataframe[0].value
    assert {"distilled", "unet"} <= set(table["method"]) and table["f1"].between(0, 1).all()
    at.switch_page("pages/evaluate.py").run()
    at.multiselect[0].set_value(["distilled", "unet"])
    at.multiselect[1].set_value(["probability"])
    at.multiselect[2].set_value(["none"])
    at.button[0].click().run()
    assert not at.exception and set(at.dataframe[0].value["method"]) == {"distilled", "unet"}
    at.switch_page("pages/growth.py").run()
    _sidebar(at, "XAI method").set_value("distilled").run()
    assert not at.exception and len(at.dataframe) >= 2  # frames and steps


def test_campaign_page_shows_the_example_campaign_worst_first_with_masks(monkeypatch, tmp_path):
    monkeypatch.setenv(studio.CAMPAIGN_ROOTS_VARIABLE, str(tmp_path))
    at = _open("campaign")
    assert _metrics(at)["photos"] == str(len(bundled_samples()))
    table = at.dataframe[0].value
    assert list(table["length_px"]) == sorted(table["length_px"], reverse=True)
    assert len(at.get("image")) >= 2  # the worst photo's mask and heatmap
    assert not any("/" in name for name in table["photo"])  # names in the campaign, no server paths
    at.selectbox[0].set_value("crack area").run()
    assert list(at.dataframe[0].value["area_px"]) == sorted(at.dataframe[0].value["area_px"], reverse=True)
    at.radio[0].set_value("campaign on the server").run()
    assert not at.exception and "No finished campaign" in at.info[0].value


def test_the_learned_explainers_run_on_compare_and_segment():
    from cracklib.pipeline import method_available

    learned = [method for method in ("bcos", "nn_explainer") if method_available(method)]
    if not learned:
        pytest.skip("no learned explainer shipped")
    at = _open("compare")
    at.multiselect[0].set_value(["input_x_gradient", *learned]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["method"]) == ["input_x_gradient", *learned] and table["f1"].between(0, 1).all()
    at = _open()
    for method in learned:
        _sidebar(at, "XAI method").set_value(method).run()
        assert not at.exception and int(_metrics(at)["Area (px)"].replace(",", "")) > 0
