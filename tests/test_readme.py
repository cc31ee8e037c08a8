"""The README's Python quickstart runs as written, and the README stays short.

The README holds exactly one ```python block. It is executed, unchanged, in a temporary working folder where
``photo.jpg`` is the bundled CrackSC photo; then the files and numbers it made are checked against each other.
Not marked slow on purpose: it is the first code a newcomer copies (it loads the bundled default model; a few
seconds).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PHOTO = ROOT / "cracklib" / "samples" / "real" / "cracksc_136.jpg"
MAX_LINES = 200


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_readme_is_at_most_200_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; the limit is {MAX_LINES}"


def test_readme_python_quickstart_runs(tmp_path, monkeypatch):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, f"README.md should hold exactly one ```python block, found {len(blocks)}"
    code = blocks[0]
    assert '"photo.jpg"' in code, "the quickstart segments photo.jpg"
    shutil.copy(PHOTO, tmp_path / "photo.jpg")
    monkeypatch.chdir(tmp_path)
    before = {path.name for path in tmp_path.iterdir()}

    namespace: dict = {"__name__": "__readme__"}
    exec(compile(code, str(README) + ":python", "exec"), namespace)  # noqa: S102 - the README's own code, on purpose

    written = sorted(path for path in tmp_path.iterdir() if path.name not in before)
    masks = [path for path in written if path.suffix == ".png"]
    assert len(masks) == 1, f"the quickstart should save one mask PNG, wrote {[path.name for path in written]}"
    result = namespace["result"]
    photo = np.asarray(Image.open(PHOTO))
    saved = np.asarray(Image.open(masks[0]))
    assert saved.shape == photo.shape[:2], "the saved mask is the photo's size"
    assert set(np.unique(saved)) <= {0, 255}
    crack_pixels = int(np.count_nonzero(saved))
    assert crack_pixels == int(result.mask.sum()), "the saved mask is the result's mask"
    assert crack_pixels > 0, "the bundled photo holds a crack the default pipeline finds"
    assert result.severity.area_px == crack_pixels, "the severity measures the saved mask"
    if "severity" in namespace:
        assert namespace["severity"].area_px == crack_pixels
    assert 0.5 <= result.probability <= 1.0
