"""End to end in a real browser: Playwright drives Debian's Chromium against `streamlit run app.py`.

Needs `/usr/bin/chromium` (`.ci/run` installs Debian's `chromium` package; Playwright's own browser
downloads are never used). Saves a screenshot under tests/artifacts/ (git-ignored).
"""
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cracklib.io import bundled_samples

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed "
                                                              "(apt-get install chromium; .ci/run does)")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--server.address", "127.0.0.1"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
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


def _wait_for_app_run(page, timeout=180_000):
    """As Streamlit's own e2e tests: the app element reports that the script is not running."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def test_upload_a_sample_and_see_the_mask_and_severity(app_url):
    from playwright.sync_api import sync_playwright

    # concrete_crack_2.png (the first open shows concrete_crack_1; the synthetic brick sample is called
    # crack-free by the default model trained on real photos, so it would show an empty mask)
    sample = bundled_samples()[3][0]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(app_url)
            page.wait_for_selector("[data-testid='stMetric']", timeout=180_000)
            _wait_for_app_run(page)
            page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(sample))
            page.get_by_role("heading", name=sample.name).wait_for(timeout=180_000)
            _wait_for_app_run(page)
            assert page.get_by_text("Crack mask (red)").first.is_visible()
            images = page.locator("[data-testid='stImage'] img")
            assert images.count() >= 1 and images.first.evaluate("img => img.naturalWidth") > 0
            metrics = {page.locator("[data-testid='stMetricLabel']").nth(i).inner_text().strip():
                       page.locator("[data-testid='stMetricValue']").nth(i).inner_text().strip()
                       for i in range(page.locator("[data-testid='stMetricLabel']").count())}
            assert float(metrics["Crack probability"]) >= 0
            assert int(metrics["Area (px)"].replace(",", "")) > 0
            assert "/" in metrics["Max / mean width (px)"]
            page.screenshot(path=str(ARTIFACTS / "segment_upload.png"), full_page=True)
        finally:
            browser.close()
