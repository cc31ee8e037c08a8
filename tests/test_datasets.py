"""Data folder layouts, split assignment and mask matching by file name."""
import numpy as np
import pytest

from cracklib.errors import CrackInputError
from cracklib.io import assign_splits, match_masks, read_dataset, write_png


def test_crack_and_no_crack_folders_give_labels(tmp_path):
    for folder, count in (("crack", 3), ("no_crack", 2)):
        (tmp_path / folder).mkdir()
        for i in range(count):
            write_png(tmp_path / folder / f"{i}.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "crack" / "notes.txt").write_text("not an image")
    samples = read_dataset(tmp_path)
    assert sorted(s.label for s in samples) == [0, 0, 1, 1, 1]
    assert all(s.mask is None and s.split is None for s in samples)


def test_assign_splits_is_stratified_and_fixed(tmp_path):
    from cracklib.io import Sample
    samples = [Sample(tmp_path / f"{i}.png", None, int(i < 10)) for i in range(20)]
    first, again = assign_splits(samples, seed=3), assign_splits(samples, seed=3)
    assert [s.split for s in first] == [s.split for s in again]
    for label in (0, 1):
        assert sum(s.split == "val" for s in first if s.label == label) == 2


def test_masks_are_matched_by_name():
    pairs = match_masks(["wall.jpg", "road.png", "tile.png"], ["wall_mask.png", "ROAD.png", "other_gt.png"])
    assert pairs == {"wall.jpg": "wall_mask.png", "road.png": "ROAD.png"}


def test_unknown_group_names_the_known_ones(data_folder):
    with pytest.raises(ValueError, match="groups: crack, free"):
        read_dataset(data_folder, groups=["nope"])


def _manifest_folder(tmp_path, rows: str, encoding="utf-8"):
    (tmp_path / "images").mkdir()
    write_png(tmp_path / "images" / "a.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "manifest.csv").write_bytes(("image,mask,label,split,group\n" + rows).encode(encoding))
    return tmp_path


@pytest.mark.parametrize("entry", ["../outside.png", "/etc/passwd", "images/../../outside.png"])
def test_manifest_paths_stay_inside_the_folder(tmp_path, entry):
    (tmp_path / "data").mkdir()
    folder = _manifest_folder(tmp_path / "data", f"images/a.png,,1,test,x\n{entry},,1,test,x\n")
    with pytest.raises(CrackInputError, match="row 3: image .* points outside the data folder"):
        read_dataset(folder)
    skipped = []
    assert [s.image.name for s in read_dataset(folder, skipped=skipped)] == ["a.png"]
    assert len(skipped) == 1 and "row 3" in skipped[0] and "\n" not in skipped[0]


def test_manifest_label_and_encoding_errors_are_one_line(tmp_path):
    folder = _manifest_folder(tmp_path, "images/a.png,,1,test,x\nimages/a.png,,crack,test,x\n")
    skipped = []
    assert len(read_dataset(folder, skipped=skipped)) == 1
    assert skipped == ["manifest.csv row 3: label 'crack' is not 0, 1 or empty"]
    (folder / "manifest.csv").write_bytes("image,label\nimages/é.png,1\n".encode("latin-1"))
    with pytest.raises(CrackInputError, match="not UTF-8"):
        read_dataset(folder)


def test_a_manifest_path_with_a_null_byte_is_one_clear_error(tmp_path):
    """Found by the fuzz test: pathlib raises ValueError on such a name."""
    from cracklib.errors import CrackInputError
    from cracklib.io import read_dataset

    (tmp_path / "manifest.csv").write_text("image,mask,label,split,group\n\"a\x00.png\",,1,test,x\nb.png,,0,test,x\n")
    skipped = []
    assert len(read_dataset(tmp_path, skipped=skipped)) == 1 and "row 2: image" in skipped[0]
    assert "not a valid file name" in skipped[0]
    import pytest
    with pytest.raises(CrackInputError, match="not a valid file name"):
        read_dataset(tmp_path)


def test_a_written_manifest_reads_back_the_same_samples(tmp_path):
    from cracklib.io import write_manifest

    rows = [{"image": "images/a.png", "mask": "masks/a.png", "label": 1, "split": "train", "group": "crack"},
            {"image": "images/b.png", "label": 0, "split": "val"}]  # no mask, no group: empty cells
    write_manifest(tmp_path, rows)
    samples = read_dataset(tmp_path)
    assert [(s.image, s.mask, s.label, s.split, s.group) for s in samples] == [
        (tmp_path / "images/a.png", tmp_path / "masks/a.png", 1, "train", "crack"),
        (tmp_path / "images/b.png", None, 0, "val", None)]
