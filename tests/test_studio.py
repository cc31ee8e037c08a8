"""The studio's shared resources: the explanation cache bounded in bytes, and the temp-folder sweep."""
import os
import tempfile
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from cracklib import studio
from cracklib.errors import CrackInputError
from cracklib.pipeline import Explanation, ExplanationSettings
from cracklib.studio import background, uploads
from cracklib.studio import cache as studio_cache


def _explained(side: int) -> studio.Explained:
    """An upload of side×side pixels: image, picture and relevance hold 3 + 3 + 4 bytes per pixel."""
    image = np.zeros((side, side, 3), np.uint8)
    relevance = np.zeros((side, side), np.float32)
    return studio.Explained(image, image.copy(), Explanation(0.9, relevance, (side, side), ExplanationSettings()))


def test_a_cached_view_counts_the_whole_buffer_it_keeps_alive():
    padded = np.zeros((16, 16), np.float32)  # a tiled map is cut from the padded blend: the view keeps it all
    image = np.zeros((10, 10, 3), np.uint8)
    explained = studio.Explained(image, image, Explanation(0.9, padded[:10, :10], (10, 10), ExplanationSettings()))
    assert studio_cache._nbytes(explained) == 16 * 16 * 4 + 10 * 10 * 3  # the picture is the image itself: once


def test_explanation_cache_is_bounded_in_bytes_and_drops_the_least_recently_used():
    one = studio_cache._nbytes(_explained(10))
    assert one == 10 * 10 * (3 + 3 + 4)
    cache = studio.ExplanationCache(budget_bytes=int(2.5 * one))
    calls = []

    def compute(key):
        def run():
            calls.append(key)
            return _explained(10)
        return run

    first = cache.get("a", compute("a"))
    assert cache.get("a", compute("a")) is first and calls == ["a"]  # a hit computes nothing
    cache.get("b", compute("b"))
    cache.get("a", compute("a"))  # a is now the most recently used
    cache.get("c", compute("c"))  # over budget: b goes, not a
    assert len(cache) == 2 and cache.nbytes == 2 * one  # what it holds, within the budget of 2.5
    cache.get("a", compute("a"))
    cache.get("b", compute("b"))
    assert calls == ["a", "b", "c", "b"]
    with pytest.raises(ValueError):  # what every session is handed cannot be changed by one of them
        first.image[0, 0, 0] = 1


def test_an_explanation_larger_than_the_budget_is_served_but_not_kept():
    cache = studio.ExplanationCache(budget_bytes=100)
    explained = cache.get("big", lambda: _explained(50))
    assert explained.image.shape == (50, 50, 3) and len(cache) == 0 and cache.nbytes == 0


def test_a_cut_is_cached_by_its_bytes_and_read_only():
    from cracklib.mask import Thresholded

    cache = studio.ExplanationCache(budget_bytes=10_000)
    cut = cache.get("cut", lambda: Thresholded(np.zeros((20, 30), np.float32), np.zeros((20, 30), bool), 0.5))
    assert cache.nbytes == 20 * 30 * (4 + 1)
    with pytest.raises(ValueError):
        cut.mask[0, 0] = True


def test_a_measured_mask_counts_its_own_mask_only_and_is_read_only():
    from cracklib.pipeline import MaskSettings, SegmentationResult

    explanation = _explained(20).explanation
    score = np.zeros((20, 30), np.float32)  # its cut's, counted with the cut
    cache = studio.ExplanationCache(budget_bytes=10_000)
    result = cache.get("measured", lambda: SegmentationResult(explanation, MaskSettings(), score,
                                                              np.zeros((20, 30), bool)))
    assert cache.nbytes == 20 * 30
    with pytest.raises(ValueError):
        result.mask[0, 0] = True


def test_a_cut_and_a_measured_mask_are_kept_per_darkness_square():
    from cracklib.mask import DarknessMap
    from cracklib.pipeline import MaskSettings

    gray = np.full((60, 60), 180, np.uint8)
    gray[20:41, 5:55] = 60                         # a crack 21 px wide
    band = np.zeros((60, 60), bool)
    band[17:44, 2:58] = True
    image = np.stack([gray] * 3, axis=-1)
    explained = studio.Explained(image, image, Explanation(0.9, band.astype(np.float32), (60, 60),
                                                           ExplanationSettings()),
                                 darkness=DarknessMap(image), key=("square test",))
    # polarity="dark": the surface between the crack and the photo's border, 5 px, is narrower than the squares.
    narrow, wide = (MaskSettings(threshold="simple", post="none", min_crack_area=0, darkness_width=width,
                                 polarity="dark") for width in (15, 31))
    studio.explanation_cache().clear()
    try:
        # The 15-px square cannot fill a 21-px crack, so it finds no darker pixels and keeps the band as cut;
        # the 31-px square keeps the crack alone. A cached cut of one square is not served for the other.
        assert studio.cut(explained, narrow).mask.sum() == band.sum()
        assert studio.cut(explained, wide).mask.sum() == (gray == 60).sum()
        assert studio.measured(explained, wide).area_px == (gray == 60).sum()
        # Sized on the 27-px band (43 px), the square keeps the crack alone too, and the widths read over it.
        per_photo = replace(narrow, darkness_width="per_photo")
        assert studio.cut(explained, per_photo).darkness_width == 43
        assert studio.cut(explained, per_photo).mask.sum() == (gray == 60).sum()
        assert studio.measured(explained, per_photo).darkness.width == 43
    finally:
        studio.explanation_cache().clear()


def test_background_work_waits_while_a_page_runs():
    ran = threading.Event()
    with studio.page_run():
        studio.BACKGROUND.submit(background._when_pages_idle, ran.set)
        assert not ran.wait(0.3)  # held: the page a user looks at comes first
    assert ran.wait(5)


def test_a_later_prefetch_replaces_what_is_left_of_an_earlier_one(monkeypatch):
    from types import SimpleNamespace

    from cracklib.mask import THRESHOLDS
    from cracklib.pipeline import MaskSettings

    done = []
    monkeypatch.setattr(background, "measured", lambda explained, settings: done.append((id(explained), settings.threshold))
                        or SimpleNamespace(severity=None))
    demo, upload = _explained(10), _explained(12)
    assert demo.explanation.explained
    with studio.page_run():  # both batches queued before the background may start
        studio.prefetch_measured([demo], MaskSettings(threshold="gmm"))
        studio.prefetch_measured([upload], MaskSettings(threshold="gmm"))
    studio.BACKGROUND.submit(lambda: None).result()
    # The upload's thresholds only, each once, in the sidebar's order.
    assert done == [(id(upload), name) for name in THRESHOLDS if name != "gmm"]


def test_an_entry_being_computed_is_waited_for_not_computed_twice():
    cache = studio.ExplanationCache(budget_bytes=10**6)
    started, release, calls = threading.Event(), threading.Event(), []

    def slow():
        calls.append(1)
        started.set()
        release.wait(5)
        return _explained(10)

    results = []
    first = threading.Thread(target=lambda: results.append(cache.get("a", slow)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.get("a", slow)))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first thread's entry
    release.set()
    first.join(5)
    second.join(5)
    assert len(calls) == 1 and len(results) == 2 and results[0] is results[1]


def test_a_waiter_computes_the_entry_itself_when_the_thread_computing_it_fails():
    cache = studio.ExplanationCache(budget_bytes=10**6)
    started, release = threading.Event(), threading.Event()

    def broken():  # e.g. a page run stopped by a widget change
        started.set()
        release.wait(5)
        raise CrackInputError("stopped")

    errors, results = [], []
    first = threading.Thread(target=lambda: errors.append(pytest.raises(CrackInputError, cache.get, "a",
                                                                        broken)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.get("a", lambda: _explained(10))))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first thread
    release.set()
    first.join(5)
    second.join(5)
    assert len(errors) == 1 and results[0].image.shape == (10, 10, 3)  # the first failed; the second computed
    assert cache.get("a", broken) is results[0]  # kept, nothing left pending


def _folder(parent, name, size, age_s, now):
    folder = parent / name
    folder.mkdir()
    (folder / "data.bin").write_bytes(b"x" * size)
    os.utime(folder, (now - age_s, now - age_s))
    return folder


def test_sweep_removes_old_and_over_budget_uploads_but_never_the_one_in_use(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(uploads, "UPLOAD_BUDGET_BYTES", 2500)
    now = time.time()
    stale = _folder(tmp_path, "cracklib_upload_stale", 10, uploads.UPLOAD_TTL_S + 60, now)
    recent = _folder(tmp_path, "cracklib_upload_recent", 1000, 60, now)
    older = _folder(tmp_path, "cracklib_upload_older", 1000, 120, now)
    in_use = _folder(tmp_path, "cracklib_upload_in_use", 1000, 2 * uploads.UPLOAD_TTL_S, now)
    dead_staging = _folder(tmp_path, "cracklib_unpacking_dead", 10, uploads.STAGING_TTL_S + 60, now)
    live_staging = _folder(tmp_path, "cracklib_unpacking_live", 10, 5, now)
    other = _folder(tmp_path, "someone_else", 10, 10 * uploads.UPLOAD_TTL_S, now)
    removed = studio.sweep_uploads(keep=in_use, now=now)
    # in_use (1000) + recent (1000) fit the 2500-byte budget; older would pass it.
    assert set(removed) == {stale, older, dead_staging}
    assert all(not folder.exists() for folder in removed)
    assert in_use.exists() and recent.exists() and live_staging.exists() and other.exists()


def test_unpacking_a_zip_marks_it_used_and_sweeps_the_rest(tmp_path, monkeypatch):
    import io
    import zipfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    now = time.time()
    stale = _folder(tmp_path, "cracklib_upload_stale", 10, uploads.UPLOAD_TTL_S + 60, now)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data/images/a.png", b"not checked here")
    folder = studio.unpacked_zip(buffer.getvalue(), "data.zip")
    assert folder.exists() and not stale.exists()
    target = next(tmp_path.glob("cracklib_upload_*"))
    os.utime(target, (now - 600, now - 600))
    studio.unpacked_zip(buffer.getvalue(), "data.zip")  # used again: its clock restarts
    assert target.stat().st_mtime > now - 60


def test_the_model_list_offers_classifiers_only():
    options = studio.weights_options()
    assert "default" in options and "nn_explainer" not in options  # an explainer is not a model to pick


def test_free_cyclic_garbage_frees_arrays_held_by_reference_cycles_before_and_after_the_freeze():
    import gc
    import weakref

    import numpy as np

    from cracklib import studio

    class Holder:
        pass

    def cycle():
        holder = Holder()
        holder.array, holder.me = np.zeros(1000), holder  # only the cyclic collector frees it
        return weakref.ref(holder)

    gc.disable()  # as if the collector had not come round yet
    try:
        for _ in range(2):  # the first call also freezes what survives; the second collects all the same
            alive = cycle()
            assert alive() is not None
            studio.free_cyclic_garbage()
            assert alive() is None
    finally:
        gc.enable()


def test_plain_text_escapes_every_markdown_construct_and_reads_back_as_typed():
    from helpers import unescaped

    hostile = "**bold** [link](http:evil.example) ![t](https://x.example/p.png) :red[red] <b>x</b> $x$ `c` www.x.org"
    escaped = studio.plain(hostile)
    assert unescaped(escaped) == hostile
    # Every punctuation mark that markdown reads as syntax is behind a backslash; letters and spaces are not.
    assert "](" not in escaped and "![" not in escaped and "://" not in escaped and "<b>" not in escaped
    assert studio.plain("cf_001 scan 2") == "cf\\_001 scan 2"


def test_the_relevance_picture_has_the_size_of_the_photo_shown_beside_it():
    picture = np.full((40, 30, 3), 128, np.uint8)
    heat = np.zeros((40, 30), np.float32)
    heat[10] = 1.0
    over, alone = (studio.relevance_picture(picture, heat, view=view) for view in studio.HEATMAP_VIEWS)
    assert over.shape == alone.shape == picture.shape
    assert over[10, 0].tolist() == [236, 19, 19] and (over[0] == 128).all()  # red over the crack, the photo elsewhere
    assert alone[10, 0].tolist() == [255, 0, 0] and (alone[0] == 255).all()
    assert studio.relevance_picture(picture, None) is picture  # not explained: the photo
