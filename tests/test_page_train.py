"""The Train page through streamlit.testing.v1.AppTest: bad files left out, trained models kept through page
switches and reloads, their folders swept, chance-level models flagged, the history chart.

Each test trains a tiny model (1 epoch, width 1/16, 64 px) on a few images in the test's own temp folder.
"""
import io
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cracklib import studio
from cracklib.io import crack_image
from cracklib.run import png_bytes
from helpers import unescaped

ROOT = Path(__file__).resolve().parent.parent
APP, PAGE = str(ROOT / "app.py"), str(ROOT / "pages" / "train.py")
TIMEOUT = 120


@pytest.fixture(autouse=True)
def own_temp_folder(tmp_path, monkeypatch):
    """Models and unpacked zips go to this test's folder: nothing of other runs is swept, nothing is left."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _zip(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _tiny(at: AppTest, *, name: str = "my_model") -> AppTest:
    """Sets the tiny training's widgets (1 epoch, width 1/16; the input size is already 64 px)."""
    at.select_slider[0].set_value(0.0625)
    at.number_input[-1].set_value(1)  # epochs
    at.text_input[0].set_value(name)
    return at


#: The Train page as app.py runs it (the session's trained models kept in the address first), without loading
#: the Segment page's model.
AS_IN_THE_APP = f"""
from cracklib import studio
studio.trained_models()
exec(compile(open({PAGE!r}).read(), {PAGE!r}, "exec"))
"""


def _open_page() -> AppTest:
    at = AppTest.from_string(AS_IN_THE_APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def _train_on_zip(data: bytes, **widgets) -> AppTest:
    at = _open_page()
    at.radio[0].set_value("zip upload").run()
    at.file_uploader[0].set_value(("survey.zip", data, "application/zip")).run()
    _tiny(at, **widgets).button[0].click().run()
    return at


def _trained_folders(parent: Path) -> list[Path]:
    return sorted(parent.glob(f"{studio.TRAINED_PREFIX}*"))


def test_bad_files_in_the_zip_are_left_out_and_named_one_per_line():
    entries = {}
    rows = ["image,mask,label,split,group"]
    for i in range(8):
        image, _ = crack_image((64, 64), crack=i % 2 == 0, rng=i)
        entries[f"data/images/{i}.png"] = png_bytes(image)
        rows.append(f"images/{i}.png,,{i % 2 == 0:d},,")
    entries["data/images/empty.png"] = b""  # a 0-byte image
    rows += ["images/empty.png,,1,,", "images/gone.png,,0,,"]  # and a row naming a file that is not there
    entries["data/manifest.csv"] = "\n".join(rows) + "\n"
    at = _train_on_zip(_zip(entries))
    assert not at.exception and not at.error, (at.exception, at.error)
    assert at.success[0].value.startswith("Trained my_model.pt")
    assert any("2 left out" in warning.value for warning in at.warning)
    lines = at.text[0].value.splitlines()
    assert len(lines) == 2 and "empty.png" in lines[0] + lines[1] and "gone.png" in lines[0] + lines[1]
    assert all(tempfile.gettempdir() not in line for line in lines)  # file names, not server paths
    card = json.loads(at.session_state["trained"]["card"])
    assert len(card["training_data"]["left_out"]) == 2  # the model card says what it was trained without
    assert list(card["training_data"]["sources"]) == ["survey.zip"]  # counted under the upload's name
    assert tempfile.gettempdir() not in at.session_state["trained"]["card"]


def test_an_upload_with_no_images_is_named_by_its_file_name_not_its_server_folder():
    at = _train_on_zip(_zip({"data/manifest.csv": "image,mask,label,split,group\n"}))
    assert not at.exception and not at.success
    assert [unescaped(error.value) for error in at.error] == ["survey.zip: no images"]


def test_a_zip_whose_every_image_is_bad_is_one_error_and_leaves_no_folder(own_temp_folder):
    at = _train_on_zip(_zip({"data/crack/a.png": b"", "data/no_crack/b.png": b"not an image"}))
    assert not at.exception and not at.success
    assert len(at.error) == 1 and "could be read" in at.error[0].value
    assert tempfile.gettempdir() not in at.error[0].value
    assert not _trained_folders(own_temp_folder)


def test_a_chance_level_model_is_flagged_beside_its_trained_box():
    blank = png_bytes(np.full((64, 64, 3), 128, np.uint8))  # the same picture in both classes: nothing to learn
    at = _train_on_zip(_zip({f"data/{label}/{i}.png": blank for label in ("crack", "no_crack") for i in range(5)}))
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("Trained my_model.pt")
    assert any("0.50" in warning.value and "not to be trusted" in warning.value for warning in at.warning)


def test_one_epoch_is_singular_and_loss_and_accuracy_have_their_own_axes_over_whole_epochs():
    at = _open_page()
    at.number_input[0].set_value(40)  # synthetic images
    _tiny(at).button[0].click().run()
    assert not at.exception and at.success[0].value == "Trained my_model.pt: 1 epoch."
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert {"xaxis", "xaxis2", "yaxis", "yaxis2"} <= set(layout)  # loss left, accuracy right
    assert layout["xaxis"]["dtick"] == 1 and layout["xaxis2"]["dtick"] == 1
    assert layout["yaxis2"]["range"] == [0, 1.02]


def test_a_refused_name_makes_no_folder_and_replaces_the_previous_result(own_temp_folder):
    at = _open_page()
    at.number_input[0].set_value(40)
    _tiny(at).button[0].click().run()
    assert at.success and len(_trained_folders(own_temp_folder)) == 1
    at.text_input[0].set_value("../x").run()
    at.button[0].click().run()
    assert not at.exception
    assert len(_trained_folders(own_temp_folder)) == 1  # the refused name made none
    assert not (own_temp_folder / "x.pt").exists()  # nor anything where the name pointed
    assert "model name" in at.error[0].value
    assert not at.success  # no "Trained …" box under the error
    assert "previous model, my_model.pt" in at.info[0].value


def test_a_trained_model_stays_in_the_model_list_after_a_page_switch_and_a_reload():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/train.py").run()
    at.number_input[0].set_value(40)
    _tiny(at).button[0].click().run()
    next(button for button in at.button if button.label == "Use this model in the other pages").click().run()
    assert not at.exception and at.success
    token = at.query_params["trained"]
    # The sidebar's navigation empties the address, as the browser does.
    at.query_params.clear()
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, at.exception
    models = next(box for box in at.sidebar.selectbox if box.label == "Model")
    assert "my_model (trained here)" in models.options
    assert at.query_params["trained"] == token  # written back on the new page
    reloaded = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a reload is a new session with the address only
    reloaded.query_params.update(at.query_params)
    reloaded.switch_page("pages/evaluate.py").run()
    assert not reloaded.exception, reloaded.exception
    models = next(box for box in reloaded.sidebar.selectbox if box.label == "Model")
    assert "my_model (trained here)" in models.options
    assert tempfile.gettempdir() not in str(reloaded.query_params["trained"])  # no server path in the address


def _aged(parent: Path, name: str, age_s: float, now: float) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "model.pt").write_bytes(b"weights")
    os.utime(folder, (now - age_s, now - age_s))
    return folder


def test_the_sweep_removes_old_trained_folders_but_not_a_fresh_or_an_in_use_one(own_temp_folder):
    now = time.time()
    old = _aged(own_temp_folder, f"{studio.TRAINED_PREFIX}old", studio.TRAINED_TTL_S + 60, now)
    fresh = _aged(own_temp_folder, f"{studio.TRAINED_PREFIX}fresh", 60, now)
    in_use = _aged(own_temp_folder, f"{studio.TRAINED_PREFIX}in_use", 2 * studio.TRAINED_TTL_S, now)
    other = _aged(own_temp_folder, "someone_else", 10 * studio.TRAINED_TTL_S, now)
    assert studio.sweep_trained(keep=[in_use], now=now) == [old]
    assert not old.exists() and fresh.exists() and in_use.exists() and other.exists()


def test_training_sweeps_old_models_and_keeps_the_sessions_own_in_use(own_temp_folder):
    at = _open_page()
    at.number_input[0].set_value(40)
    _tiny(at, name="first").button[0].click().run()
    first = _trained_folders(own_temp_folder)[0]
    long_ago = time.time() - 2 * studio.TRAINED_TTL_S
    stale = _aged(own_temp_folder, f"{studio.TRAINED_PREFIX}stale", 2 * studio.TRAINED_TTL_S, time.time())
    os.utime(first, (long_ago, long_ago))  # unused for two days, but this session still offers it
    at.text_input[0].set_value("second").run()
    assert first.stat().st_mtime > long_ago  # the page run marked it used
    os.utime(first, (long_ago, long_ago))
    at.button[0].click().run()
    assert not at.exception and not stale.exists() and first.exists()
    assert [folder.name for folder in _trained_folders(own_temp_folder)].count(first.name) == 1
    assert len(_trained_folders(own_temp_folder)) == 2
