"""Plain helpers the tests import (``from helpers import ...``); the fixtures and hooks live in conftest.py."""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from cracklib.nets import UncenteredBatchNorm, build_model, fold_uncentered_batch_norm

#: The repository's root (``pytest.ini``, ``weights/``, ``app.py``).
ROOT = Path(__file__).resolve().parent.parent


def bcos_network(seed: int = 0) -> torch.nn.Module:
    """A small B-cos VGG whose uncentred batch norms were fitted on one random batch, then folded: untrained,
    but with activations of a sensible size (without the norms they vanish layer by layer)."""
    torch.manual_seed(seed)
    model = build_model("vgg11_bcos", width=0.0625, input_size=64, batch_norm=True)
    for module in model.modules():
        if isinstance(module, UncenteredBatchNorm):
            module.momentum = None  # a cumulative average: one batch sets the statistics
    model.train()
    model(torch.randn(8, 3, 64, 64))
    for module in model.modules():
        if isinstance(module, UncenteredBatchNorm):
            module.weight.data.uniform_(0.5, 2.0)
    return fold_uncentered_batch_norm(model.eval())


def with_whole_photo_model(tiny_weights: Path, folder: Path, **card_fields) -> Path:
    """A copy of the tiny weights in ``folder`` whose card names a second copy as its whole-photo model
    (``whole/model.pt``), with ``card_fields`` set on the first card; returns the first weights file."""
    (folder / "whole").mkdir()
    for suffix in (".pt", ".json"):
        shutil.copy(tiny_weights.with_suffix(suffix), folder / f"model{suffix}")
        shutil.copy(tiny_weights.with_suffix(suffix), folder / "whole" / f"model{suffix}")
    card = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**card, **card_fields, "whole_photo_model": "whole/model.pt"}))
    return folder / "model.pt"


def assert_resumes_to_the_straight_weights(train, checkpoint: Path) -> torch.nn.Module:
    """``train(**options)`` (two epochs) run straight, then stopped after its first epoch and resumed from
    ``checkpoint``: the resumed run trains epochs 1 and 2 and ends at the straight run's weights.
    Returns the straight run's model."""
    straight, _ = train()

    def stop_after_first(stats):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(checkpoint=checkpoint, progress=stop_after_first)
    resumed, history = train(checkpoint=checkpoint, resume=True)
    assert [h.epoch for h in history] == [1, 2]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    return straight


def unescaped(text: str) -> str:
    """Text as the browser shows it: the backslash escapes of ``cracklib.studio.plain`` removed (AppTest hands
    back the markdown source of errors, captions and headers)."""
    return re.sub(r"\\(.)", r"\1", text)


#: Debian's Chromium, which the browser tests and docs/screenshots.py drive (Playwright's own downloads are never
#: used).
CHROMIUM = Path("/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served_app(*, timeout_s: float = 120):
    """``streamlit run app.py`` on a free local port, for as long as the ``with`` lasts; yields its address."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--server.address", "127.0.0.1"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:  # Streamlit's health endpoint answers "ok" once the server is up
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("streamlit did not start")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_app_run(page, timeout=180_000):
    """As Streamlit's own e2e tests: the app element reports that the script is not running."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
