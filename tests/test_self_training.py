"""Self-training's parts: confident pseudo-masks, the agreement of two teachers, strong augmentation, rounds."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from cracklib.io import Sample, write_synthetic_dataset
from cracklib.nets.models import card_path
from cracklib.train import (
    IGNORE,
    PseudoMaskSettings,
    SegmenterConfig,
    agreement,
    distill_and_save,
    pseudo_mask,
    train_unet_and_save,
)
from cracklib.train.augment import photometric, rescale
from cracklib.train.segmenter import _subset


def _result(mask, score, threshold, support=None):
    return SimpleNamespace(mask=mask, score=score, threshold=threshold, explanation=SimpleNamespace(support=support))


def test_unexplained_tiles_of_a_photo_with_a_mask_are_unsure_not_background():
    mask = np.zeros((8, 8), bool)
    mask[2, 1:3] = True
    support = np.zeros((8, 8), bool)
    support[:, :4] = True                      # the left half was explained, the right half gated out
    target = pseudo_mask(_result(mask, mask * 1.0, 0.5, support), PseudoMaskSettings(band=1))
    assert (target[:, 4:] == IGNORE).all()     # a crack there may have been missed
    assert target[7, 0] == 0 and (target[2, 1:3] == 1).all()
    kept = pseudo_mask(_result(mask, mask * 1.0, 0.5, support), PseudoMaskSettings(band=1, ignore_unexplained=False))
    assert (kept[:, 5:] == 0).all()
    # A photo without a mask: nothing to be unsure about around it, its weak pixels aside.
    empty = pseudo_mask(_result(np.zeros((8, 8), bool), np.full((8, 8), 0.3), 0.5, support))
    assert (empty == IGNORE).all()             # 0.3 reaches half the cut: weak evidence is not background
    assert not pseudo_mask(_result(np.zeros((8, 8), bool), np.zeros((8, 8)), 0.5, support)).any()


def test_agreement_keeps_only_what_both_teachers_say():
    a = np.array([[1, 1, 0, 0, IGNORE]], np.uint8)
    b = np.array([[1, 0, 0, 1, 0]], np.uint8)
    sample = Sample(image=None, mask=None, label=1)
    both = agreement(lambda s, i: a, lambda s, i: b)(sample, None)
    assert both.tolist() == [[1, IGNORE, 0, IGNORE, IGNORE]]
    assert agreement(lambda s, i: None, lambda s, i: b)(sample, None) is b   # one teacher alone: its target


def test_rescale_keeps_targets_exact_and_the_side():
    generator = torch.Generator().manual_seed(3)
    pixels = torch.rand(2, 3, 32, 32)
    target = torch.zeros(2, 32, 32, dtype=torch.uint8)
    target[:, 10:20, 15] = 1
    target[:, :4] = IGNORE
    for _ in range(8):
        zoomed, zoomed_target = rescale(generator, pixels, target)
        assert zoomed.shape == pixels.shape and zoomed_target.shape == target.shape
        assert set(zoomed_target.unique().tolist()) <= {0, 1, IGNORE}   # nearest neighbour: no blended labels
    same = rescale(torch.Generator().manual_seed(3), pixels, target)
    again = rescale(torch.Generator().manual_seed(3), pixels, target)
    assert torch.equal(same[0], again[0]) and torch.equal(same[1], again[1])  # the run's generator decides


def test_photometric_stays_in_range_and_changes_the_picture():
    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand(6, 3, 24, 24)
    out = photometric(pixels, generator, blur=1.0, noise=1.0, jpeg=1.0)
    assert out.shape == pixels.shape and out.min() >= 0 and out.max() <= 1
    assert (out - pixels).abs().mean() > 0.01


def test_max_images_keeps_a_fixed_subset_in_order():
    samples = [Sample(image=str(i), mask=None, label=1) for i in range(10)]
    kept = _subset(samples, 4, seed=0)
    assert len(kept) == 4 and kept == sorted(kept, key=lambda s: int(s.image)) and kept == _subset(samples, 4, 0)
    assert _subset(samples, None, 0) is samples and _subset(samples, 20, 0) is samples


def test_max_images_caps_each_folder_and_split(tmp_path):
    """Every photo gives a target here, so the crop counts are exact: 6 train photos (3 cracked, 3 crack-free) and
    2 val photos, capped at 2 cracked and 2 crack-free; a cracked photo gives 2 crops, a crack-free one 1."""
    folder = write_synthetic_dataset(tmp_path / "data", n=8, shape=(96, 96))
    config = SegmenterConfig(width=0.125, crop=64, epochs=1, batch_size=4)
    card = train_unet_and_save([str(folder)], tmp_path / "unet.pt", config=config, crops_per_image=2, max_images=2,
                               targets=lambda sample, image: np.zeros(image.shape[:2], np.uint8))
    assert card.training_data["sources"]["data"] == {"train": 2 * 2 + 2 * 1, "val": 1 * 2 + 1 * 1}
    uncapped = train_unet_and_save([str(folder)], tmp_path / "all.pt", config=config, crops_per_image=2,
                                   targets=lambda sample, image: np.zeros(image.shape[:2], np.uint8))
    assert uncapped.training_data["sources"]["data"]["train"] == 3 * 2 + 3 * 1


@pytest.mark.slow
def test_two_rounds_with_the_agreement_teacher(tmp_path, tiny_classifier):
    folder = write_synthetic_dataset(tmp_path / "data", n=8, shape=(96, 96))
    config = SegmenterConfig(width=0.125, crop=64, epochs=1, batch_size=4, augment="strong")
    card = distill_and_save(tiny_classifier, [str(folder)], tmp_path / "student.pt", config=config, rounds=2,
                            round_teacher="agreement", crops_per_image=2, max_images=3)
    assert card.notes["round"] == 2 and card.notes["round_teacher"] == "agreement"
    assert "agree" in card.training_data["pixel_labels"]
    assert card.training_data["max_images"] == 3
    first = json.loads(card_path(tmp_path / "student.round1.pt").read_text())
    assert first["notes"]["round"] == 1  # the first round's student is kept beside the last one
    with pytest.raises(ValueError, match="round teacher"):
        distill_and_save(tiny_classifier, [str(folder)], tmp_path / "x.pt", config=config, round_teacher="nope")


@pytest.mark.slow
def test_a_run_continues_the_rounds_from_an_earlier_student(tmp_path, tiny_classifier):
    folder = write_synthetic_dataset(tmp_path / "data", n=8, shape=(96, 96))
    config = SegmenterConfig(width=0.125, crop=64, epochs=1, batch_size=4)
    first = distill_and_save(tiny_classifier, [str(folder)], tmp_path / "one.pt", config=config, crops_per_image=2)
    assert first.notes["round"] == 1 and first.notes["start_from"] is None
    second = distill_and_save(tiny_classifier, [str(folder)], tmp_path / "two.pt", config=config, crops_per_image=2,
                              start_from=tmp_path / "one.pt")
    assert second.notes["round"] == 2 and second.notes["start_from"] == str(tmp_path / "one.pt")
    assert "round 2: the previous round's refined mask" in second.training_data["pixel_labels"]
