import numpy as np
import pytest

from cracklib.io import bundled_samples, crack_image, crack_mask, read_image, read_mask, surface


@pytest.mark.parametrize("kind", ["concrete", "brick"])
def test_crack_image_is_deterministic_and_has_its_mask(kind):
    image, mask = crack_image((96, 128), kind=kind, rng=3)
    again, mask_again = crack_image((96, 128), kind=kind, rng=3)
    assert image.shape == (96, 128, 3) and image.dtype == np.uint8
    assert (image == again).all() and (mask == mask_again).all()
    assert 0.002 < mask.mean() < 0.2
    # the painted pixels are darker than the surface around them
    assert image[mask].mean() < image[~mask].mean() * 0.8


def test_crack_free_image_has_an_empty_mask():
    _, mask = crack_image((64, 64), crack=False, rng=0)
    assert not mask.any()


def test_crack_runs_across_the_surface():
    mask = crack_mask((200, 200), rng=5)
    rows, cols = np.nonzero(mask)
    assert max(np.ptp(rows), np.ptp(cols)) >= 100


def test_unknown_texture():
    with pytest.raises(ValueError, match="unknown texture"):
        surface((10, 10), kind="marble")


def test_bundled_samples_exist_with_matching_masks():
    pairs = bundled_samples()
    assert [image.name for image, _ in pairs] == ["brick_crack_1.png", "concrete_clean_1.png",
                                                  "concrete_crack_1.png", "concrete_crack_2.png"]  # sorted
    assert all(mask.name == image.stem + "_mask.png" and mask.exists() for image, mask in pairs)
    for image_path, mask_path in pairs:
        image = read_image(image_path)
        mask = read_mask(mask_path, shape=image.shape[:2])
        assert mask.any() == ("crack" in image_path.stem)
