import numpy as np
import pytest

from cracklib.models import Normalization
from cracklib.training import balanced_accuracy, predict_probabilities
from cracklib.training_data import examples_from_samples, synthetic_examples
from cracklib.datasets import Sample
from cracklib.imageio import write_png


def test_tiny_classifier_learns_synthetic_cracks(tiny_classifier):
    x, y = synthetic_examples(60, 64, seed=7)  # images it has not seen
    p = predict_probabilities(tiny_classifier.model, x, Normalization())
    assert balanced_accuracy(y, p >= 0.5) >= 0.9


def test_balanced_accuracy():
    assert balanced_accuracy([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.75)
    assert np.isnan(balanced_accuracy([1, 1], [1, 1]))


def test_patches_are_labelled_by_their_mask(tmp_path):
    image = np.full((64, 96, 3), 128, np.uint8)
    mask = np.zeros((64, 96), bool)
    mask[10, 5:20] = True  # only in the top-left 32x32 patch
    write_png(tmp_path / "a.png", image)
    write_png(tmp_path / "a_mask.png", mask)
    x, y = examples_from_samples([Sample(tmp_path / "a.png", tmp_path / "a_mask.png", 1)], 32)
    assert x.shape[1:] == (32, 32, 3)
    assert y[0] == 1            # the whole image
    assert y[1:].sum() == 1     # one crack patch among the native-resolution patches
    assert len(y) >= 3
