"""Self-training on explanation masks: pseudo-masks on hand-made results, and no pixel mask read anywhere."""
import io
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from cracklib.errors import CrackInputError
from cracklib.pipeline import MaskSettings, PipelineConfig
from cracklib.io import write_synthetic_dataset
from cracklib.train import IGNORE, PseudoMaskSettings, SegmenterConfig, distill_and_save, pseudo_mask
from cracklib.train.distill import default_cache_dir, explanation_targets

#: A result's explanation whose every tile was explained (resize mode: no tile support).
EXPLAINED_EVERYWHERE = SimpleNamespace(support=None)


def test_pseudo_mask_is_crack_on_the_mask_unsure_around_it_and_background_elsewhere():
    score = np.zeros((9, 9))
    score[4, 2:7] = 0.9           # the pipeline's mask
    score[0, 0] = 0.5             # unsure: at least half the weakest kept score, not kept
    score[8, 8] = 0.3             # background: below half of it
    result = SimpleNamespace(mask=score >= 0.9, score=score, threshold=0.8, explanation=EXPLAINED_EVERYWHERE)
    target = pseudo_mask(result, PseudoMaskSettings(band=1, unsure=0.5))
    assert (target[4, 2:7] == 1).all()
    # The one-pixel band (4-connected: the box's corners stay background).
    assert (target[3, 2:7] == IGNORE).all() and (target[5, 2:7] == IGNORE).all()
    assert target[4, 1] == IGNORE and target[4, 7] == IGNORE and target[3, 1] == 0
    assert target[0, 0] == IGNORE and target[8, 8] == 0 and target[1, 4] == 0
    empty = pseudo_mask(SimpleNamespace(mask=np.zeros((3, 3), bool), score=np.zeros((3, 3)), threshold=0.5,
                                             explanation=EXPLAINED_EVERYWHERE))
    assert not empty.any()


def test_a_closed_gap_in_the_mask_leaves_the_rest_of_the_photo_background():
    """A closing fills pixels that score 0; the unsure band still comes from the threshold's cut."""
    score = np.zeros((9, 9))
    score[4, 1:4] = score[4, 5:8] = 0.9
    mask = score > 0.5
    mask[4, 4] = True             # the gap the closing filled
    target = pseudo_mask(SimpleNamespace(mask=mask, score=score, threshold=0.5, explanation=EXPLAINED_EVERYWHERE), PseudoMaskSettings(band=1))
    assert target[4, 4] == 1 and target[0, 0] == 0 and target[8, 8] == 0


@pytest.mark.parametrize("ignore_unexplained, outside", [(True, IGNORE), (False, 0)])
def test_the_tiles_left_unexplained_on_a_cracked_photo_are_ignored_or_background(ignore_unexplained, outside):
    score = np.zeros((8, 8))
    score[2, 1:3] = 0.9
    support = np.zeros((8, 8), bool)
    support[:4, :4] = True        # the one explained tile
    result = SimpleNamespace(mask=score >= 0.9, score=score, threshold=0.8,
                             explanation=SimpleNamespace(support=support))
    target = pseudo_mask(result, PseudoMaskSettings(band=1, ignore_unexplained=ignore_unexplained))
    assert (target[2, 1:3] == 1).all() and target[0, 3] == 0  # inside the tile: crack, and background off the band
    assert (target[~support] == outside).all()


def test_distillation_reads_no_pixel_mask(tmp_path, tiny_classifier):
    """Distilling on a folder whose masks are deleted gives the very same weights."""
    folder = write_synthetic_dataset(tmp_path / "data", n=8, shape=(96, 96))
    teacher = tiny_classifier  # the tiny model, not the shipped weights: the fast tier loads none of those
    config = SegmenterConfig(width=0.125, crop=64, epochs=1, batch_size=4)
    log = io.StringIO()
    distill_and_save(teacher, [str(folder)], tmp_path / "with.pt", config=config, crops_per_image=2, log=log)
    # One line per epoch, with the time left (a long run shows its progress).
    assert re.search(r"epoch 1/1: loss [\d.]+ val loss [\d.]+ val F1 [\d.]+ \(\d+ s, ETA 0 min\)", log.getvalue())
    shutil.rmtree(folder / "masks")
    # Into a folder that does not exist yet: made before the first epoch's checkpoint is written.
    distill_and_save(teacher, [str(folder)], tmp_path / "new" / "without.pt", config=config, crops_per_image=2)
    first = torch.load(tmp_path / "with.pt", weights_only=True)
    second = torch.load(tmp_path / "new" / "without.pt", weights_only=True)
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_a_pseudo_mask_cache_is_refused_for_another_band(tmp_path, tiny_classifier):
    """Its files are named by photo only: targets of another ignore band (or teacher) must not be read back."""
    explanation_targets(tiny_classifier, cache_dir=tmp_path / "cache")  # stamps the cache
    explanation_targets(tiny_classifier, cache_dir=tmp_path / "cache")  # the same settings: accepted
    with pytest.raises(CrackInputError, match="made with other pseudo_masks; give another --cache-dir"):
        explanation_targets(tiny_classifier, settings=PseudoMaskSettings(band=2), cache_dir=tmp_path / "cache")


def test_the_default_cache_folder_is_named_by_what_its_targets_depend_on(tiny_classifier):
    """Other settings get another folder, so a user changing an option never meets the stamp's refusal."""
    default = default_cache_dir(tiny_classifier)
    assert default == default_cache_dir(tiny_classifier, PipelineConfig(), PseudoMaskSettings())
    others = [default_cache_dir(tiny_classifier, settings=PseudoMaskSettings(band=2)),
              default_cache_dir(tiny_classifier, settings=PseudoMaskSettings(ignore_unexplained=False)),
              default_cache_dir(tiny_classifier, PipelineConfig(mask=MaskSettings(threshold="otsu")))]
    assert len({default, *others}) == 4
