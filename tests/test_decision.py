import numpy as np
import pytest

from cracklib.pipeline import PHOTO_DECISIONS, ExplanationSettings, classify, explain, photo_probability


def test_one_confident_tile_calls_a_photo_cracked_only_under_max_tile():
    tiles = np.array([0.02, 0.97, 0.05, 0.01])
    assert photo_probability(tiles, decision="max_tile") == pytest.approx(0.97)
    assert photo_probability(tiles, decision="second_tile") == pytest.approx(0.05)
    assert photo_probability(tiles, 0.04, decision="tile_and_whole") == pytest.approx(np.sqrt(0.97 * 0.04))


def test_second_tile_of_a_one_tile_photo_is_that_tile():
    assert photo_probability(np.array([0.8]), decision="second_tile") == pytest.approx(0.8)


def test_without_an_informative_whole_photo_tile_and_whole_is_the_highest_tile():
    from cracklib.pipeline import whole_is_informative

    assert photo_probability(np.array([0.3, 0.8]), None, decision="tile_and_whole") == pytest.approx(0.8)
    assert whole_is_informative((512, 700), 128) and not whole_is_informative((513, 700), 128)
    assert not whole_is_informative((3000, 4000), 128)  # a 12 MP photo: a thin crack is gone at 128 px


def test_a_large_photo_is_decided_by_its_tiles_alone(tiny_classifier):
    from cracklib.io import crack_image

    image, _ = crack_image((300, 320), crack=True, rng=6)  # shorter side 300 > 4 × 64
    explanation = explain(tiny_classifier, image, ExplanationSettings(decision="tile_and_whole"))
    assert explanation.probability == pytest.approx(float(explanation.tile_probabilities.max()), abs=1e-6)


def test_bad_decisions_are_refused():
    with pytest.raises(ValueError, match="unknown photo decision"):
        photo_probability(np.array([0.5]), decision="vote")
    with pytest.raises(ValueError, match="unknown photo decision"):
        ExplanationSettings(decision="vote")


@pytest.mark.parametrize("decision", list(PHOTO_DECISIONS))
def test_the_pipeline_uses_the_decision_for_the_photo_and_the_gate(tiny_classifier, decision):
    from cracklib.io import crack_image

    image, _ = crack_image((160, 224), crack=True, rng=5)
    config = ExplanationSettings(decision=decision, gate=0.5)
    explanation = explain(tiny_classifier, image, config)
    whole = classify(tiny_classifier, image, ExplanationSettings(mode="resize"))
    expected = photo_probability(explanation.tile_probabilities, whole, decision=decision)
    assert explanation.probability == pytest.approx(expected, abs=1e-6)
    assert classify(tiny_classifier, image, config) == pytest.approx(expected, abs=1e-6)
    # Below the gate nothing is explained, whatever the single tiles say.
    assert explanation.explained == (expected >= 0.5)
    if not explanation.explained:
        assert explanation.n_explained == 0


def test_shift_logits_moves_the_decision_by_the_offset():
    from cracklib.pipeline import shift_logits

    assert shift_logits(np.array([0.5]), np.log(3))[0] == pytest.approx(0.25)
    np.testing.assert_allclose(shift_logits(np.array([0.1, 0.5, 0.9]), 0.0), [0.1, 0.5, 0.9])


def test_fit_logit_offset_finds_the_cut_that_separates_the_photos():
    from cracklib.pipeline import fit_logit_offset

    # Highest tiles 0.9/0.8/0.75 (cracked) and 0.7/0.6/0.3 (clean): at 0.5 one clean photo in three is right.
    tiles = [np.array([0.1, p]) for p in (0.9, 0.8, 0.75, 0.7, 0.6, 0.3)]
    labels = np.array([1, 1, 1, 0, 0, 0])
    offset, balanced = fit_logit_offset(tiles, [None] * 6, labels, decision="max_tile")
    assert np.log(0.7 / 0.3) < offset <= np.log(0.75 / 0.25) and balanced == 1.0
    assert fit_logit_offset(tiles, [None] * 6, labels, decision="max_tile", offsets=np.zeros(1)) == (0.0, 2 / 3)
    with pytest.raises(ValueError, match="cracked and crack-free"):
        fit_logit_offset(tiles[:3], [None] * 3, labels[:3], decision="max_tile")


def test_the_cards_logit_offset_recalibrates_every_probability(tiny_classifier):
    from dataclasses import replace

    from cracklib.io import crack_image
    from cracklib.pipeline import shift_logits

    image, _ = crack_image((160, 224), crack=True, rng=5)
    shifted = replace(tiny_classifier, card=replace(tiny_classifier.card, logit_offset=1.5))
    for settings in (ExplanationSettings(mode="resize"), ExplanationSettings(decision="max_tile")):
        raw = classify(tiny_classifier, image, settings)
        assert classify(shifted, image, settings) == pytest.approx(shift_logits(np.array([raw]), 1.5)[0], abs=1e-5)


def test_fit_logit_offset_with_a_whole_photo_model_moves_only_the_whole_photo():
    from cracklib.pipeline import fit_logit_offset

    # Every photo's highest tile is 0.8; the whole photos rank 0.9/0.8/0.75 (cracked) above 0.7/0.6/0.3.
    # sqrt(0.8 · whole) ≥ 0.5 ⇔ whole ≥ 0.3125: the cut lies in (logit 0.7, logit 0.75] − logit 0.3125.
    tiles = [np.array([0.1, 0.8])] * 6
    wholes = [0.9, 0.8, 0.75, 0.7, 0.6, 0.3]
    labels = np.array([1, 1, 1, 0, 0, 0])
    offset, balanced = fit_logit_offset(tiles, wholes, labels, tile_offset=0.0)
    low, high = (np.log(p / (1 - p)) - np.log(0.3125 / 0.6875) for p in (0.7, 0.75))
    assert low < offset <= high and balanced == 1.0
    # Shifting the tiles too (one model) cannot separate them at this offset: the tiles' offset is really kept.
    from cracklib.pipeline import photo_probability, shift_logits
    both = [photo_probability(shift_logits(t, offset), float(shift_logits(w, offset)), decision="tile_and_whole")
            for t, w in zip(tiles, wholes)]
    assert not all((np.array(both) >= 0.5) == labels.astype(bool))


def test_a_whole_photo_model_decides_the_photo_but_not_the_tiles(tiny_classifier):
    from dataclasses import replace

    from cracklib.io import crack_image
    from cracklib.pipeline import classify_tiles, whole_photo_probability

    image, _ = crack_image((160, 224), crack=True, rng=5)
    witness = replace(tiny_classifier, card=replace(tiny_classifier.card, logit_offset=50.0))  # calls it crack-free
    deciding = replace(tiny_classifier, whole_photo=witness)
    tiled = ExplanationSettings(decision="tile_and_whole")
    alone, together = classify_tiles(tiny_classifier, image, tiled), classify_tiles(deciding, image, tiled)
    np.testing.assert_array_equal(alone[3], together[3])  # the same tiles, so the same gate and heatmap
    whole = classify(witness, image, ExplanationSettings(mode="resize"))
    assert whole_photo_probability(deciding, image) == pytest.approx(whole, abs=1e-6)
    assert whole != pytest.approx(classify(tiny_classifier, image, ExplanationSettings(mode="resize")), abs=1e-3)
    assert together[-1] == pytest.approx(photo_probability(alone[3], whole, decision="tile_and_whole"), abs=1e-6)
    # Resize mode is the explained model's own probability.
    resize = ExplanationSettings(mode="resize")
    assert classify(deciding, image, resize) == pytest.approx(classify(tiny_classifier, image, resize), abs=1e-6)


def test_a_card_naming_a_whole_photo_model_loads_it(tiny_weights, tmp_path):
    from helpers import with_whole_photo_model

    from cracklib.pipeline import load_classifier

    loaded = load_classifier(with_whole_photo_model(tiny_weights, tmp_path))
    assert loaded.whole_photo is not None and loaded.whole_photo.path == tmp_path / "whole" / "model.pt"
    assert load_classifier(tiny_weights).whole_photo is None


def test_a_whole_photo_model_of_a_larger_input_looks_at_the_photo_at_its_own_size(tiny_classifier):
    from dataclasses import replace

    from cracklib.io import crack_image
    from cracklib.pipeline import Classifier, classify_tiles, whole_photo_probability
    from cracklib.train import resized_input

    card = tiny_classifier.card
    large = resized_input(tiny_classifier.model, card, 2 * card.input_size).eval()  # as the 256-px model was made
    witness = Classifier(large, replace(card, input_size=2 * card.input_size))
    deciding = replace(tiny_classifier, whole_photo=witness)
    image, _ = crack_image((160, 224), crack=False, rng=5)  # crack-free: probabilities short of 1
    whole = whole_photo_probability(deciding, image)
    assert 0.001 < whole < 0.999
    assert whole == pytest.approx(classify(witness, image, ExplanationSettings(mode="resize")), abs=1e-6)
    # Resized to 128 px, not to the tile model's 64: another probability than the tile model's resized photo.
    assert whole != pytest.approx(classify(tiny_classifier, image, ExplanationSettings(mode="resize")), abs=1e-4)
    tiled = ExplanationSettings(decision="tile_and_whole")
    np.testing.assert_array_equal(classify_tiles(deciding, image, tiled)[3],
                                  classify_tiles(tiny_classifier, image, tiled)[3])


def test_the_tiles_to_rescore_are_those_near_the_gate_and_near_the_top():
    from cracklib.pipeline import tiles_to_rescore

    screened = np.array([0.05, 0.9, 0.35, 0.1, 0.29])
    # Gate 0.5, margin 0.2: a tile that reaches 0.5 in float screens at 0.3 or more.
    np.testing.assert_array_equal(tiles_to_rescore(screened, gate=0.5, margin=0.2, decision="max_tile"), [1, 2])
    # No tile near the gate: the highest ones are scored again, for the photo's probability.
    low = np.array([0.05, 0.2, 0.15, 0.02])
    np.testing.assert_array_equal(tiles_to_rescore(low, gate=0.5, margin=0.05, decision="max_tile"), [1, 2])
    # second_tile reads 0.15, and any tile screened within two margins of it could be the float second.
    np.testing.assert_array_equal(tiles_to_rescore(low, gate=0.5, margin=0.05, decision="second_tile"), [0, 1, 2])


@pytest.mark.parametrize("decision", list(PHOTO_DECISIONS))
def test_scoring_again_the_tiles_to_rescore_gives_the_float_gate_and_decision(decision):
    from cracklib.pipeline import tiles_to_rescore

    rng = np.random.default_rng(0)
    margin, naive_misses = 0.1, 0
    for _ in range(300):
        exact = rng.beta(0.4, 1.5, size=rng.integers(1, 30))
        screened = np.clip(exact + rng.uniform(-margin, margin, exact.shape), 0, 1)
        whole = float(rng.uniform())
        again = tiles_to_rescore(screened, gate=0.5, margin=margin, decision=decision)
        cascade = screened.copy()
        cascade[again] = exact[again]
        np.testing.assert_array_equal(np.flatnonzero(cascade >= 0.5), np.flatnonzero(exact >= 0.5))
        assert photo_probability(cascade, whole, decision=decision) == photo_probability(exact, whole, decision=decision)
        # Scoring again only the tiles near the gate would get the photo's probability wrong now and then.
        near_gate = screened.copy()
        near_gate[screened >= 0.5 - margin] = exact[screened >= 0.5 - margin]
        naive_misses += photo_probability(near_gate, whole, decision=decision) != photo_probability(exact, whole,
                                                                                                    decision=decision)
    assert naive_misses > 0
