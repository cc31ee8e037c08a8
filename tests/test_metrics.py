import numpy as np
import pytest

from cracklib.measure import (
    Confusion,
    ScoreSampler,
    average_precision,
    confusion,
    pixel_roc_auc,
    pointing_game,
    pr_curve,
    relevance_mass_accuracy,
)


def test_confusion_and_scores_of_hand_built_masks():
    truth = np.zeros((4, 4), bool)
    truth[0, :] = True            # 4 crack pixels
    prediction = np.zeros((4, 4), bool)
    prediction[0, :2] = True      # 2 hits
    prediction[3, 3] = True       # 1 false alarm
    counts = confusion(prediction, truth)
    assert counts == Confusion(tp=2, fp=1, fn=2, tn=11)
    assert counts.iou == pytest.approx(2 / 5)
    assert counts.precision == pytest.approx(2 / 3)
    assert counts.recall == pytest.approx(1 / 2)
    assert counts.f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))


def test_dataset_level_scores_sum_the_confusion():
    a, b = Confusion(tp=10, fp=0, fn=0), Confusion(tp=0, fp=0, fn=90)
    total = a + b
    assert total.recall == pytest.approx(0.1)  # not the mean of per-image recalls (0.5)


def test_an_empty_mask_is_not_precise_where_there_were_cracks_to_find():
    missed = confusion(np.zeros((4, 4), bool), np.eye(4, dtype=bool))
    assert (missed.precision, missed.recall, missed.f1, missed.iou) == (0.0, 0.0, 0.0, 0.0)
    # Nothing to find and nothing claimed: right.
    assert confusion(np.zeros((4, 4), bool), np.zeros((4, 4), bool)).scores() == \
        {"iou": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_shape_mismatch():
    with pytest.raises(ValueError, match="differ in shape"):
        confusion(np.zeros((2, 2), bool), np.zeros((3, 3), bool))


def test_average_precision_perfect_and_reversed():
    truth = np.zeros((10, 10), bool)
    truth[4] = True
    score = truth.astype(float)
    assert average_precision(score, truth) == pytest.approx(1.0)
    assert average_precision(1 - score, truth) < 0.2
    precision, recall, _ = pr_curve(score, truth)
    assert precision.max() == 1.0 and recall.max() == 1.0


def test_sampler_weights_keep_ap_unbiased(rng):
    truth = rng.random((200, 200)) < 0.02
    score = np.clip(truth * 0.3 + rng.random(truth.shape) * 0.8, 0, 1)
    sampler = ScoreSampler(background_per_image=5000)
    sampler.add(score, truth)
    assert average_precision(sampler) == pytest.approx(average_precision(score, truth), abs=0.03)


def test_localisation_scores():
    truth = np.zeros((50, 50), bool)
    truth[20:22, :] = True
    relevance = np.zeros((50, 50))
    relevance[20, 10] = 3.0
    relevance[0, 0] = 1.0
    assert relevance_mass_accuracy(relevance, truth) == pytest.approx(0.75)
    assert pointing_game(relevance, truth)
    relevance[45, 45] = 10.0
    assert not pointing_game(relevance, truth, tolerance=5)
    assert pixel_roc_auc(truth.astype(float), truth) == pytest.approx(1.0)
