"""Screenshots of the studio's Segment and Compare pages for the docs, made in a real browser.

    .venv/bin/python docs/screenshots.py

Serves ``app.py`` (tests/helpers.py's ``served_app``), opens each page in Debian's Chromium with Playwright, waits
for the bundled CrackSC sample to be shown, and writes ``docs/assets/studio_segment.png`` and
``docs/assets/studio_compare.png`` (each page's results for the bundled CrackSC photo, 1400 px wide).
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the one place that knows how to serve the app and wait for it

from helpers import CHROMIUM, served_app, wait_for_app_run  # noqa: E402

ASSETS = ROOT / "docs" / "assets"
#: Page → (its address, text that appears once its results are drawn, text the screenshot starts at, its height).
PAGES = {"segment": ("", "Crack mask (red)", "Crack probability", 1000),
         "compare": ("compare", "mask (yellow)", "cracksc_136.jpg: crack probability", 1400)}


def main() -> None:
    ASSETS.mkdir(exist_ok=True)
    with served_app() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            for name, (address, drawn, start, height) in PAGES.items():
                page.goto(f"{url}/{address}")
                page.get_by_text(drawn).first.wait_for(timeout=600_000)
                wait_for_app_run(page, timeout=600_000)
                page.wait_for_timeout(1500)  # the pictures' fade-in
                top = page.get_by_text(start).first.bounding_box()
                main = page.locator("[data-testid='stMain']").bounding_box()
                out = ASSETS / f"studio_{name}.png"
                page.screenshot(path=str(out), full_page=True,
                                clip={"x": main["x"], "y": top["y"] - 10, "width": main["width"], "height": height})
                print(f"wrote {out.relative_to(ROOT)}")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
