"""The segmentation network: loss on hand-made tensors, crops, training on synthetic photos, tiled prediction."""
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_resumes_to_the_straight_weights

from cracklib.errors import CrackInputError
from cracklib.io import Sample, read_dataset, read_sample, write_synthetic_dataset
from cracklib.measure import Confusion, confusion
from cracklib.nets import Normalization, UNet11, load_segmenter
from cracklib.pipeline import (
    MaskSettings,
    PipelineConfig,
    explain,
    predict_map,
    segment_explanation,
    segmenter_path,
    segmenters,
)
from cracklib.run import compare_explanations
from cracklib.train import (
    IGNORE,
    SegmenterConfig,
    crops_from_masks,
    save_segmenter,
    segmentation_loss,
    train_segmenter,
    train_unet_and_save,
)


def test_unet_gives_one_logit_per_pixel():
    model = UNet11(width=0.125).eval()
    assert model(torch.zeros(2, 3, 64, 96)).shape == (2, 1, 64, 96)


def test_loss_ignores_the_unsure_pixels_and_is_small_for_a_right_answer():
    target = torch.zeros(1, 4, 4, dtype=torch.uint8)
    target[0, 1, 1] = 1
    right = torch.full((1, 1, 4, 4), -20.0)
    right[0, 0, 1, 1] = 20.0
    assert float(segmentation_loss(right, target)) < 1e-3
    wrong_where_ignored = right.clone()
    wrong_where_ignored[0, 0, 3, 3] = 20.0  # a false crack pixel...
    assert float(segmentation_loss(wrong_where_ignored, target)) > 0.1
    target[0, 3, 3] = IGNORE  # ...that no longer counts once it is marked unsure
    assert float(segmentation_loss(wrong_where_ignored, target)) < 1e-3
    assert float(segmentation_loss(right, torch.full_like(target, IGNORE))) == 0.0


def test_crops_come_from_masks_and_skip_unusable_images(tmp_path):
    folder = write_synthetic_dataset(tmp_path / "data", n=4, shape=(96, 128))
    samples = read_dataset(folder)
    crops, targets = crops_from_masks(samples, crop=64, per_image=4, seed=1)
    assert crops.shape == (16, 64, 64, 3) and targets.shape == (16, 64, 64) and set(np.unique(targets)) <= {0, 1}
    cracked = targets[:4]  # the first photo is cracked: its centred crops (every other one) hold crack pixels
    assert cracked[0].any() and cracked[2].any()
    assert not targets[4:8].any()  # the second is crack-free: all background
    empty_defect = Sample(samples[1].image, samples[1].mask, 1)  # labelled cracked, mask empty: skipped
    assert len(crops_from_masks([empty_defect], crop=64)[0]) == 0
    no_mask_clean = Sample(samples[1].image, None, 0)  # crack-free without a mask: all background
    assert not crops_from_masks([no_mask_clean], crop=64, per_image=2)[1].any()


@pytest.fixture(scope="module")
def synthetic_folder(tmp_path_factory):
    """24 synthetic photos of 128 px with their masks, in a train and a val split (no test split)."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), n=24, shape=(128, 128))


def _unet_trained_on(folder, epochs: int):
    x, y = crops_from_masks(read_dataset(folder, split="train"), crop=64, per_image=4)
    vx, vy = crops_from_masks(read_dataset(folder, split="val"), crop=64, per_image=2)
    return train_segmenter(x, y, vx, vy, config=SegmenterConfig(width=0.125, crop=64, epochs=epochs, batch_size=8,
                                                                learning_rate=5e-3))


@pytest.fixture(scope="module")
def trained(synthetic_folder):
    """A tiny U-Net trained on the synthetic photos for 12 epochs (about 10 s on 2 cores): the slow test that it
    learns the cracks."""
    model, history = _unet_trained_on(synthetic_folder, epochs=12)
    return synthetic_folder, model, history


@pytest.fixture(scope="module")
def unet(synthetic_folder):
    """The same U-Net after one epoch (a few steps): a network with maps of its own, not yet a good one, for the
    fast tests of what is done with a network (saving and loading, the pipeline's method, views, fine-tuning)."""
    model, history = _unet_trained_on(synthetic_folder, epochs=1)
    return synthetic_folder, model, history


@pytest.mark.slow  # trains for 12 epochs
def test_a_tiny_unet_learns_the_synthetic_cracks(trained):
    folder, model, history = trained
    assert len(history) == 12 and history[-1].train_loss < history[0].train_loss
    total = None
    for sample in read_dataset(folder, split="val"):
        image, truth = read_sample(sample)
        probability = predict_map(model, image, Normalization(), tile=64)
        assert probability.shape == truth.shape and 0 <= probability.min() and probability.max() <= 1
        counts = confusion(probability > 0.5, truth)
        total = counts if total is None else total + counts
    assert total.scores()["f1"] > 0.8, total.scores()


def test_saved_network_runs_as_a_method_of_the_pipeline(unet, tmp_path, monkeypatch, tiny_classifier):
    _, model, _ = unet
    monkeypatch.setattr(segmenters, "SEGMENTERS_DIR", tmp_path)
    save_segmenter(model, tmp_path / "unet.pt", notes={"test": True})
    loaded, card = load_segmenter(tmp_path / "unet.pt", device="cpu")
    image = read_sample(read_dataset(unet[0], split="val")[0])[0]
    assert np.allclose(predict_map(loaded, image, card.normalization), predict_map(model, image, Normalization()),
                       atol=1e-5)
    explanation = explain(tiny_classifier, image, PipelineConfig.of(method="unet", gate=0.0).explanation)
    assert explanation.explained and explanation.relevance.shape == image.shape[:2]
    result = segment_explanation(explanation, PipelineConfig.of(threshold="probability", refine="none",
                                                                post="none").mask)
    # The network's own decision (probability above 0.5), less the specks the pipeline drops.
    assert result.mask.any() and not (result.mask & ~(explanation.relevance > 0.5)).any()
    # Compared beside an explanation, the network keeps its own mask step while the explanation is cut at gmm.
    lrp = explain(tiny_classifier, image, PipelineConfig.of(gate=0.0).explanation)
    gmm = MaskSettings(threshold="gmm", refine="otsu_core", post="none")
    network_run, lrp_run = compare_explanations([explanation, lrp], gmm, photo=image)
    own = network_run.result.settings
    assert (own.threshold, own.refine, own.post) == ("probability", "none", "light")
    assert lrp_run.result.settings == gmm
    np.testing.assert_array_equal(network_run.result.mask, segment_explanation(explanation, own, photo=image).mask)
    alike = compare_explanations([explanation], gmm, photo=image, networks_at_own_step=False)[0]
    assert alike.result.settings == gmm
    with pytest.raises(CrackInputError, match="no such segmentation network"):
        explain(tiny_classifier, image, PipelineConfig.of(method="distilled").explanation)


def test_a_per_set_classifier_brings_its_own_network(unet, tmp_path, monkeypatch, tiny_classifier):
    _, model, _ = unet
    monkeypatch.setattr(segmenters, "SEGMENTERS_DIR", tmp_path)
    save_segmenter(model, tmp_path / "unet.pt")
    own = UNet11(model.width)  # untrained: its map differs from the general network's
    save_segmenter(own, tmp_path / "tiles" / "unet.pt")
    assert segmenter_path("unet") == segmenter_path("unet", "weights/other.pt") == tmp_path / "unet.pt"
    assert segmenter_path("unet", "weights/tiles.pt") == tmp_path / "tiles" / "unet.pt"
    image = read_sample(read_dataset(unet[0], split="val")[0])[0]
    settings = PipelineConfig.of(method="unet", gate=0.0).explanation
    general = explain(replace(tiny_classifier, path=Path("weights/other.pt")), image, settings)
    per_set = explain(replace(tiny_classifier, path=Path("weights/tiles.pt")), image, settings)
    np.testing.assert_allclose(general.relevance, predict_map(model, image, Normalization()), atol=1e-5)
    np.testing.assert_allclose(per_set.relevance, predict_map(own.eval(), image, Normalization()), atol=1e-5)
    # The JSON says which network drew the mask; an explanation names none.
    unrefined = MaskSettings(threshold="probability", refine="none")
    assert segment_explanation(per_set, unrefined).summary()["network"] == str(tmp_path / "tiles" / "unet.pt")
    assert "network" not in segment_explanation(explain(tiny_classifier, image), unrefined).summary()


def test_a_classifier_is_not_loaded_as_a_segmenter(tiny_weights):
    with pytest.raises(CrackInputError, match="not a segmentation network"):
        load_segmenter(tiny_weights, device="cpu")


def test_a_network_method_is_available_only_with_its_weights(tmp_path, monkeypatch):
    from cracklib.pipeline import method_available

    monkeypatch.setattr(segmenters, "SEGMENTERS_DIR", tmp_path)
    assert method_available("lrp") and not method_available("unet")
    (tmp_path / "unet.pt").write_bytes(b"")
    assert method_available("unet")


def test_unet_training_resumes_from_its_checkpoint_to_the_same_weights(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    y = (rng.random((8, 32, 32)) < 0.1).astype(np.uint8)
    config = SegmenterConfig(width=0.0625, crop=32, epochs=2, batch_size=4, seed=0)
    checkpoint = tmp_path / "unet.ckpt.pt"
    assert_resumes_to_the_straight_weights(partial(train_segmenter, x, y, x, y, config=config), checkpoint)
    with pytest.raises(ValueError, match="other settings"):
        train_segmenter(x[:4], y[:4], config=config, checkpoint=checkpoint, resume=True)


def test_fine_tuning_starts_from_the_given_network_and_needs_its_width(unet, tmp_path):
    folder, model, _ = unet
    save_segmenter(model, tmp_path / "unet.pt")
    x, y = crops_from_masks(read_dataset(folder, split="train")[:2], crop=64, per_image=1)
    start = SegmenterConfig(width=0.125, crop=64, epochs=1, batch_size=2, learning_rate=0.0,
                            init_from=str(tmp_path / "unet.pt"))
    tuned, _ = train_segmenter(x, y, config=start)  # no step size: the weights it started from
    for name, value in model.named_parameters():  # (batch norm's running statistics do move)
        assert torch.equal(dict(tuned.named_parameters())[name], value), name
    fresh, _ = train_segmenter(x, y, config=replace(start, init_from=None))
    assert not torch.equal(fresh.state_dict()["head.weight"], model.state_dict()["head.weight"])
    with pytest.raises(ValueError, match="width 0.125"):
        train_segmenter(x, y, config=replace(start, width=0.25))


def test_training_on_some_groups_reads_only_their_images(tmp_path):
    folder = write_synthetic_dataset(tmp_path / "data", n=8, shape=(64, 64))
    config = SegmenterConfig(width=0.125, crop=64, epochs=1, batch_size=4)
    card = train_unet_and_save([str(folder)], tmp_path / "unet.pt", config=config, crops_per_image=2,
                               groups=["crack"])
    counts = {split: len([s for s in read_dataset(folder, split=split) if s.group == "crack"])
              for split in ("train", "val")}
    assert card.training_data["groups"] == ["crack"]
    assert card.training_data["sources"]["data"] == {split: 2 * n for split, n in counts.items()}  # 2 crops each


def test_each_network_has_a_valid_own_mask_step():
    from cracklib.mask import POSTPROCESSING, REFINEMENTS, THRESHOLDS
    from cracklib.pipeline import NETWORK_MASK_STEPS, SEGMENTER_METHODS, default_mask

    assert set(NETWORK_MASK_STEPS) == set(SEGMENTER_METHODS)
    for method in SEGMENTER_METHODS:
        own = default_mask(method, MaskSettings(min_crack_area=3))
        assert own.threshold == "probability" and own.min_crack_area == 3  # the rest of the settings kept
        assert own.threshold in THRESHOLDS and own.refine in REFINEMENTS and own.post in POSTPROCESSING
    assert default_mask("lrp", MaskSettings(threshold="bmm")) == MaskSettings(threshold="bmm")


def test_all_eight_views_turn_and_flip_with_a_one_tile_photo(unet):
    _, model, _ = unet
    image = read_sample(read_dataset(unet[0], split="val")[0])[0][:64, :64]
    plain = predict_map(model, image, Normalization(), tile=64)
    averaged = predict_map(model, image, Normalization(), tile=64, views=8)
    assert averaged.dtype == np.float32 and averaged.shape == plain.shape
    assert not np.allclose(averaged, plain, atol=1e-4)  # the views do differ...
    for turned, back in ((np.rot90(image), lambda m: np.rot90(m, -1)), (image[:, ::-1], lambda m: m[:, ::-1])):
        # ...and their mean is the same map whichever way the photo lies
        again = predict_map(model, np.ascontiguousarray(turned), Normalization(), tile=64, views=8)
        np.testing.assert_allclose(back(again), averaged, atol=1e-5)
    two = [values for values in segmenters.view_maps(model, image, Normalization(), views=2, tile=64)]
    np.testing.assert_allclose(predict_map(model, image, Normalization(), tile=64, views=2), (two[0] + two[1]) / 2,
                               atol=1e-6)
    with pytest.raises(ValueError, match="views must be 1 to 8"):
        predict_map(model, image, Normalization(), views=9)


def test_choose_views_writes_the_val_choice_into_the_card_and_the_pipeline_uses_it(unet, tmp_path, monkeypatch,
                                                                                   tiny_classifier, capsys,
                                                                                   data_folder):
    import json

    from cracklib.cli import main

    folder, model, _ = unet
    monkeypatch.setattr(segmenters, "SEGMENTERS_DIR", tmp_path)
    save_segmenter(model, tmp_path / "unet.pt")
    # A folder with a test split (the synthetic one has none): the views are never chosen on it.
    assert main(["choose-views", "--weights", str(tmp_path / "unet.pt"), "--data", str(data_folder),
                 "--split", "test"]) == 2
    assert "test split reports the result" in capsys.readouterr().err
    assert main(["choose-views", "--weights", str(tmp_path / "unet.pt"), "--data", str(folder),
                 "--max-views", "2"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert set(fit["scores"]) == {"1", "2"}
    # Each score is the val split's pooled confusion of the averaged map cut at 0.5, computed here again.
    totals = {views: Confusion() for views in (1, 2)}
    for sample in read_dataset(folder, split="val"):
        image, truth = read_sample(sample)
        for views in totals:
            totals[views] += confusion(predict_map(model, image, Normalization(), views=views) > 0.5, truth)
    for views, total in totals.items():
        assert fit["scores"][str(views)]["f1"] == pytest.approx(total.f1, abs=1e-6), views
        assert fit["scores"][str(views)]["iou"] == pytest.approx(total.iou, abs=1e-6), views
    best = max(s["f1"] for s in fit["scores"].values())
    assert fit["scores"][str(fit["views"])]["f1"] >= best - 0.005
    _, card = load_segmenter(tmp_path / "unet.pt", device="cpu")
    assert card.views == fit["views"] and card.notes["views"]["split"] == "val"
    # The pipeline segments with the card's views.
    (tmp_path / "unet.json").write_text(replace(card, views=2).to_json())
    image = read_sample(read_dataset(folder, split="val")[0])[0]
    explanation = explain(tiny_classifier, image, PipelineConfig.of(method="unet", gate=0.0).explanation)
    np.testing.assert_allclose(explanation.relevance, predict_map(model, image, Normalization(), views=2), atol=1e-5)
    unrefined = MaskSettings(threshold="probability", refine="none")
    assert segment_explanation(explanation, unrefined).summary()["network_views"] == 2  # the JSON says so
