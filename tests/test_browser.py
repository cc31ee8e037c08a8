"""End to end in a real browser: Playwright drives Debian's Chromium against `streamlit run app.py`.

Needs `/usr/bin/chromium` (`.ci/run` installs Debian's `chromium` package; Playwright's own browser
downloads are never used). Saves a screenshot under tests/artifacts/ (git-ignored).
"""
import io

import numpy as np
import pytest
from PIL import Image

from cracklib.io import bundled_samples
from helpers import CHROMIUM, ROOT, served_app, wait_for_app_run

ARTIFACTS = ROOT / "tests" / "artifacts"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed "
                                                              "(apt-get install chromium; .ci/run does)")]


@pytest.fixture(scope="module")
def app_url():
    with served_app() as url:
        yield url


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
            wait_for_app_run(page)
            page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(sample))
            page.get_by_role("heading", name=sample.name).wait_for(timeout=180_000)
            wait_for_app_run(page)
            assert page.get_by_text("Crack mask (red)").first.is_visible()
            # The relevance is a picture of the mask's size beside it, red where the crack is: visible, not specks.
            relevance = page.locator("[data-testid='stImage']", has_text="Relevance: red").locator("img").first
            mask = page.locator("[data-testid='stImage']", has_text="Crack mask").locator("img").first
            assert relevance.bounding_box()["width"] == pytest.approx(mask.bounding_box()["width"], abs=2)
            assert relevance.bounding_box()["height"] == pytest.approx(mask.bounding_box()["height"], abs=2)
            red = _picture(page, relevance)
            reddish = (red[..., 0].astype(int) - red[..., 1] > 80).mean()
            assert reddish > 0.002, f"only {reddish:.4%} of the relevance picture is clearly red"
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


def _picture(page, image) -> np.ndarray:
    """The pixels of an ``<img>`` as the browser fetched them."""
    data = page.request.get(image.evaluate("img => img.src")).body()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_a_file_name_written_as_markdown_is_shown_as_typed_with_no_link(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    name = "**bold** [link](http:evil.example) :red[red].png"
    hostile = tmp_path / name
    hostile.write_bytes(bundled_samples()[3][0].read_bytes())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            fetched = []
            page.on("request", lambda request: fetched.append(request.url))
            page.goto(app_url)
            page.wait_for_selector("[data-testid='stMetric']", timeout=180_000)
            wait_for_app_run(page)
            page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(hostile))
            page.get_by_role("heading", name=name).wait_for(timeout=180_000)  # the name as typed, asterisks too
            wait_for_app_run(page)
            assert page.locator("a[href*='evil.example']").count() == 0
            assert page.locator("[data-testid='stMain'] strong", has_text="bold").count() == 0
            assert not any("evil.example" in url for url in fetched)
        finally:
            browser.close()


def test_compare_measures_faithfulness_and_draws_its_charts(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"{app_url}/compare")
            page.get_by_text("mask (yellow)").first.wait_for(timeout=300_000)
            wait_for_app_run(page)
            page.get_by_role("button", name="Measure faithfulness").click()
            page.get_by_text("deletion: most relevant pixels removed first").wait_for(timeout=300_000)
            wait_for_app_run(page)
            assert page.get_by_text("Spearman with the trained model's map").count() == 1  # the randomisation chart
            sentences = page.get_by_text("top layers: with fc3 to fc1 randomised")
            assert sentences.count() >= 4  # one per explanation method (the U-Nets say why they have none)
            assert page.get_by_text("is a segmentation network").count() == 2
            page.screenshot(path=str(ARTIFACTS / "compare_faithfulness.png"), full_page=True)
        finally:
            browser.close()
