"""`pip install .` gives the package with its samples, its weights and the `cracklib` command (issue 12)."""
import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT

#: The subpackages, each of which the wheel must hold.
LAYERS = ("io", "nets", "explain", "mask", "measure", "pipeline", "train", "run", "studio")


@pytest.mark.slow
def test_the_wheel_holds_the_package_samples_weights_and_the_command(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path),
                    str(ROOT)], check=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("cracklib-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("cracklib/__init__.py", *(f"cracklib/{layer}/__init__.py" for layer in LAYERS),
                   "cracklib/pipeline/settings.py", "cracklib/samples/concrete_crack_1.png",
                   "cracklib/weights/default.pt", "cracklib/weights/default.json",
                   "cracklib/weights/default.baselines.npz", "cracklib/weights/segmenters/unet.pt",
                   "cracklib/weights/segmenters/magnetic_tiles/unet.pt",
                   "cracklib/weights/whole_photo/magnetic_tiles.pt"):
        assert needed in names, needed
    assert not any(name.startswith(("tests/", "benchmarks/", "pages/")) for name in names)
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "cracklib = cracklib.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
