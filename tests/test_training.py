import io
import json
from functools import partial

import numpy as np
import pytest
import torch
from helpers import assert_resumes_to_the_straight_weights

from cracklib.cli import main
from cracklib.errors import CrackInputError
from cracklib.io import Sample, crack_image, write_manifest, write_png
from cracklib.measure import balanced_accuracy
from cracklib.nets import Normalization
from cracklib.train import examples_from_samples, predict_probabilities, synthetic_examples, train_and_save


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
    # Patches start every 16 px: 3 × 5 windows. Besides the crack one, (0, 16) holds crack pixels near its
    # border (ambiguous: left out); the 13 others keep 4 px away from the crack: crack-free patches.
    assert len(y) == 1 + 1 + 13


def test_patch_windows_label_by_centre_and_keep_a_margin():
    from cracklib.train import PatchSettings
    from cracklib.train.examples import _patch_windows

    truth = np.zeros((64, 64), bool)
    truth[8:24, 16] = True  # a 16-px crack in the centre of the top-left 32-px patch
    crack, clean = _patch_windows(truth, 32, PatchSettings(stride=0.5, min_crack_pixels=12, clean_margin=4))
    origins = sorted((w[0].start, w[1].start) for w in crack), sorted((w[0].start, w[1].start) for w in clean)
    # Windows start every 16 px. Only (0, 0) holds ≥ 12 crack pixels in its centre; (0, 16) and (16, 0)
    # touch the crack near their border (ambiguous: left out); the crack-free ones keep 4 px away from it.
    assert origins[0] == [(0, 0)]
    assert origins[1] == [(0, 32), (16, 32), (32, 0), (32, 16), (32, 32)]


class _Brightness(torch.nn.Module):
    """A stand-in classifier: the brighter the patch, the surer it is of a crack."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(20.0))

    def forward(self, x):
        score = (x.mean(dim=(1, 2, 3)) - 0.5) * self.scale
        return torch.stack([-score, score], dim=1)


def test_hard_negatives_are_the_crack_free_patches_the_model_calls_cracked(tmp_path):
    from cracklib.train import hard_negatives

    image = np.full((64, 128, 3), 60, np.uint8)
    image[:, 96:] = 250           # a bright lane marking on the right, far from the crack
    mask = np.zeros((64, 128), bool)
    mask[10:20, 10] = True        # a dark crack on the left
    write_png(tmp_path / "a.png", image)
    write_png(tmp_path / "a_mask.png", mask)
    sample = Sample(tmp_path / "a.png", tmp_path / "a_mask.png", 1)
    found = hard_negatives(_Brightness(), Normalization(mean=(0, 0, 0), std=(1, 1, 1)), [sample], 32, per_image=8)
    # Patches start every 16 px: those at columns 80 and 96 are at least half marking (mean > 0.5, called
    # cracked), three rows of them; plain background (mean 0.24) is called crack-free and is not mined.
    assert len(found) == 6
    assert all((patch == 250).mean() >= 0.5 for patch in found)


def test_training_resumes_from_its_checkpoint_to_the_same_weights(tmp_path):
    from cracklib.train import TrainingConfig, train_classifier

    x, y = synthetic_examples(48, 32, seed=3)
    config = TrainingConfig(width=0.125, input_size=32, epochs=2, batch_size=16, seed=0)
    checkpoint = tmp_path / "run.ckpt.pt"
    straight = assert_resumes_to_the_straight_weights(partial(train_classifier, x, y, x, y, config=config),
                                                      checkpoint)
    other = TrainingConfig(width=0.125, input_size=32, epochs=3, batch_size=16, seed=0)
    with pytest.raises(ValueError, match="other settings"):
        train_classifier(x, y, x, y, config=other, checkpoint=checkpoint, resume=True)
    # A run stopped early (--until-epoch) keeps its checkpoint; resumed without the stop it ends as the straight one.
    early_checkpoint = tmp_path / "early.ckpt.pt"
    early, history = train_classifier(x, y, x, y, config=config, checkpoint=early_checkpoint, until_epoch=1)
    assert [h.epoch for h in history] == [1] and early_checkpoint.exists()
    again, history = train_classifier(x, y, x, y, config=config, checkpoint=early_checkpoint, resume=True,
                                      until_epoch=1)
    assert [h.epoch for h in history] == [1]  # already there: the same weights, no training
    assert all(torch.equal(a, b) for a, b in zip(early.state_dict().values(), again.state_dict().values()))
    finished, history = train_classifier(x, y, x, y, config=config, checkpoint=early_checkpoint, resume=True)
    assert [h.epoch for h in history] == [1, 2]  # the schedule was that of 2 epochs all along
    for (name, a), b in zip(straight.state_dict().items(), finished.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_examples_are_decoded_once_and_read_back_from_the_cache(data_folder, tmp_path):
    import io

    from cracklib.train.examples import cached_examples

    first_log, second_log = io.StringIO(), io.StringIO()
    first = cached_examples([str(data_folder)], 32, cache_dir=tmp_path, log=first_log)
    second = cached_examples([str(data_folder)], 32, cache_dir=tmp_path, log=second_log)
    assert "read from" not in first_log.getvalue() and "read from" in second_log.getvalue()
    for key in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(first[0][key], second[0][key])
    assert first[1] == second[1] and list(first[2]) == list(second[2])


def test_oversample_repeats_only_the_named_source():
    from cracklib.train import oversample

    x = np.arange(7)[:, None]
    y = np.array([1, 0, 1, 0, 0, 1, 1])
    sources = {"small": {"train": {"examples": 2, "crack": 1}},
               "large": {"train": {"examples": 3, "crack": 1, "hard_negatives": 2}}}
    xs, ys = oversample(x, y, sources, {"small": 3})
    assert xs[:, 0].tolist() == [0, 1, 0, 1, 0, 1, 2, 3, 4, 5, 6]
    assert ys.tolist() == [1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="no data folder named walls"):
        oversample(x, y, sources, {"walls": 2})


def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    from cracklib.nets import ModelCard, save_model
    from cracklib.train import TrainingConfig, train_classifier

    x, y = synthetic_examples(32, 32, seed=4)
    first, _ = train_classifier(x, y, x, y, config=TrainingConfig(width=0.125, input_size=32, epochs=1,
                                                                  batch_size=16))
    save_model(first, tmp_path / "first.pt", ModelCard(arch="vgg11_128", width=0.125, input_size=32))
    # A learning rate of zero leaves the weights where they started: exactly the initial ones.
    config = TrainingConfig(width=0.125, input_size=32, epochs=1, batch_size=16, learning_rate=0.0,
                            weight_decay=0.0, init_from=str(tmp_path / "first.pt"))
    tuned, _ = train_classifier(x, y, x, y, config=config)
    for (name, a), b in zip(first.state_dict().items(), tuned.state_dict().values()):
        assert torch.equal(a, b), name
    wider = TrainingConfig(width=0.25, input_size=32, init_from=str(tmp_path / "first.pt"))
    with pytest.raises(ValueError, match="fine-tuning needs"):
        train_classifier(x, y, x, y, config=wider)


def test_a_larger_input_starts_as_the_old_model_pooled_to_its_grid():
    from cracklib.nets import ModelCard, build_model
    from cracklib.train import resized_input

    torch.manual_seed(0)
    small = build_model("vgg11_128", width=0.125, input_size=64, batch_norm=False).eval()  # 2×2 pooled cells
    for layer in small.classifier[::3]:
        torch.nn.init.normal_(layer.weight, 0, 0.5)  # logits well away from 0, so a mismatch would show
    card = ModelCard(arch="vgg11_128", width=0.125, input_size=64)
    large = resized_input(small, card, 128).eval()  # 4×4 cells, each old weight over 2×2 of them
    assert large.classifier[0].in_features == 4 * small.classifier[0].in_features
    x = torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        # The small model's adaptive pool averages the 4×4 map to 2×2: the same logits.
        logits = small(x)
        assert logits.abs().min() > 1e-3
        torch.testing.assert_close(large(x), logits, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="whole factor"):
        resized_input(small, card, 96)  # 3 cells from 2


def _folder_with_bad_files(folder):
    """A data folder of 8 good images (both classes), a 0-byte image, a row naming a missing file and a bad label."""
    (folder / "images").mkdir(parents=True)
    rows = []
    for i in range(8):
        image, _ = crack_image((48, 48), crack=i % 2 == 0, rng=i)
        write_png(folder / "images" / f"{i}.png", image)
        rows.append({"image": f"images/{i}.png", "label": int(i % 2 == 0)})
    (folder / "images" / "empty.png").write_bytes(b"")
    rows += [{"image": "images/empty.png", "label": 1}, {"image": "images/gone.png", "label": 0},
             {"image": "images/0.png", "label": "yes"}]
    write_manifest(folder, rows)
    return folder


def test_training_leaves_out_bad_files_names_them_and_reads_them_back_from_the_cache(tmp_path):
    data = _folder_with_bad_files(tmp_path / "data")
    train = partial(train_and_save, data=[str(data)], width=0.0625, size=32, epochs=1, cache_dir=tmp_path / "cache",
                    log=io.StringIO())
    with pytest.raises(CrackInputError, match="row 12"):  # without a list to name them in: an error, as before
        train(out=tmp_path / "strict.pt")
    skipped: list[str] = []
    card = train(out=tmp_path / "a.pt", skipped=skipped)
    assert len(skipped) == 3 and "row 12" in skipped[0]
    assert {"empty.png", "gone.png"} == {problem.split(":")[0] for problem in skipped[1:]}  # names, not paths
    assert card.training_data["left_out"] == skipped
    assert json.loads((tmp_path / "a.json").read_text())["training_data"]["left_out"] == skipped
    again: list[str] = []
    train(out=tmp_path / "b.pt", skipped=again)  # the examples come from the cache: the same files named
    assert again == skipped
    without_row = _folder_with_bad_files(tmp_path / "other")
    (without_row / "manifest.csv").write_text("\n".join((without_row / "manifest.csv").read_text().splitlines()[:-1]))
    train(data=[str(without_row)], out=tmp_path / "c.pt", skipped=[])  # decoded once with files left out ...
    with pytest.raises(CrackInputError, match=r"(empty|gone)\.png"):  # ... an error when read back without a list
        train(data=[str(without_row)], out=tmp_path / "d.pt")


def test_training_on_only_unreadable_images_is_one_error(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"")
    write_manifest(tmp_path, [{"image": "images/a.png", "label": 1}, {"image": "images/b.png", "label": 0}])
    skipped: list[str] = []
    with pytest.raises(CrackInputError, match=r"could be read \(2 left out; the first: (a|b)\.png: "):
        train_and_save(data=[str(tmp_path)], width=0.0625, size=32, epochs=1, out=tmp_path / "w.pt",
                       cache_dir=tmp_path / "cache", skipped=skipped, log=io.StringIO())
    assert not (tmp_path / "w.pt").exists()


def test_the_train_command_trains_on_the_rest_and_prints_each_file_left_out(tmp_path, capsys):
    data = _folder_with_bad_files(tmp_path / "data")
    out = tmp_path / "w.pt"
    code = main(["train", "--data", str(data), "--width", "0.0625", "--size", "32", "--epochs", "1",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 2 and out.exists()  # trained without them; exit 2, as evaluate with files left out
    errors = [line for line in printed.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3 and "row 12" in errors[0]
    assert {"empty.png", "gone.png"} == {error.split(":")[1].strip() for error in errors[1:]}
    assert '"left_out"' in printed.out
