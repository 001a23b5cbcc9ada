"""Image loading: resize + centre crop, mode conversion, bad files, folder listing, skipping batches."""
import logging

import numpy as np
import pytest
from PIL import Image

from unmask.images import DatasetLayoutError, ImageLoadError, iter_batches, list_image_folder, load_image


def _thirds(width: int, height: int) -> Image.Image:
    """Red | green | blue vertical thirds (a wide image) or horizontal thirds (a tall one)."""
    arr = np.zeros((height, width, 3), dtype=np.uint8)
    if width >= height:
        arr[:, : width // 3, 0] = 255
        arr[:, width // 3 : 2 * width // 3, 1] = 255
        arr[:, 2 * width // 3 :, 2] = 255
    else:
        arr[: height // 3, :, 0] = 255
        arr[height // 3 : 2 * height // 3, :, 1] = 255
        arr[2 * height // 3 :, :, 2] = 255
    return Image.fromarray(arr)


@pytest.mark.parametrize("width,height", [(90, 30), (30, 90)])
def test_shorter_side_resize_then_centre_crop(tmp_path, width, height):
    path = tmp_path / "thirds.png"
    _thirds(width, height).save(path)
    x = load_image(path, 16)
    assert x.shape == (16, 16, 3) and x.dtype == np.float32
    # The centre square of a 3:1 image is its middle third: green (bilinear blends the border pixels).
    inner = x[2:-2, 2:-2]
    np.testing.assert_allclose(inner[..., 1], 1.0, atol=1e-6)
    assert inner[..., 0].max() == 0.0 and inner[..., 2].max() == 0.0
    assert x[..., 0].max() < 0.2 and x[..., 2].max() < 0.2


def test_values_in_unit_range_and_exact_for_same_size(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, size=(20, 20, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    np.testing.assert_allclose(load_image(tmp_path / "a.png", 20), arr / 255.0, atol=1e-7)


@pytest.mark.parametrize(
    "mode_image",
    [
        lambda: Image.new("L", (24, 24), 128),
        lambda: Image.new("RGBA", (24, 24), (10, 20, 30, 0)),
        lambda: Image.new("P", (24, 24), 3),
        lambda: Image.fromarray(np.full((24, 24), 65535 // 2, dtype=np.uint16)),
    ],
    ids=["gray", "rgba", "palette", "gray16"],
)
def test_modes_become_rgb(tmp_path, mode_image):
    path = tmp_path / "m.png"
    mode_image().save(path)
    x = load_image(path, 12)
    assert x.shape == (12, 12, 3) and 0.0 <= x.min() <= x.max() <= 1.0


def test_sixteen_bit_gray_is_rescaled_not_clipped(tmp_path):
    Image.fromarray(np.full((8, 8), 65535 // 2, dtype=np.uint16)).save(tmp_path / "g.png")
    np.testing.assert_allclose(load_image(tmp_path / "g.png", 8), 0.5, atol=1 / 255)


def test_alpha_is_dropped_as_torchvision_loader(tmp_path):
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(tmp_path / "t.png")
    np.testing.assert_allclose(load_image(tmp_path / "t.png", 8)[0, 0], [1.0, 0.0, 0.0])


def test_corrupt_truncated_and_missing_files_name_the_file(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not an image at all")
    good = tmp_path / "good.jpg"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good)
    (tmp_path / "cut.jpg").write_bytes(good.read_bytes()[:200])
    for name in ("bad.jpg", "cut.jpg", "missing.jpg"):
        with pytest.raises(ImageLoadError, match=name):
            load_image(tmp_path / name, 16)


def _folder(root, classes, per_class=2):
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (10, 10), (i, 0, 0)).save(root / name / f"{i}.jpg")


def test_list_image_folder_labels_follow_requested_order(tmp_path):
    _folder(tmp_path, ["b", "a"])
    (tmp_path / "a" / "notes.txt").write_text("ignored")
    (tmp_path / "a" / "UPPER.PNG").write_bytes((tmp_path / "a" / "0.jpg").read_bytes())
    items = list_image_folder(tmp_path, ["b", "a"])
    assert [label for _, label in items] == [0, 0, 1, 1, 1]
    assert all(path.parent.name == ["b", "a"][label] for path, label in items)


def test_list_image_folder_mismatch_lists_what_was_found(tmp_path):
    _folder(tmp_path, ["car", "dog"])
    with pytest.raises(DatasetLayoutError, match=r"missing \['person'\].*unexpected \['dog'\].*found \['car', 'dog'\]"):
        list_image_folder(tmp_path, ["car", "person"])
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        list_image_folder(tmp_path / "nowhere", ["car"])


def test_iter_batches_skips_and_logs_bad_images(tmp_path, caplog):
    _folder(tmp_path, ["a"], per_class=5)
    (tmp_path / "a" / "2.jpg").write_bytes(b"broken")
    items = list_image_folder(tmp_path, ["a"])
    with caplog.at_level(logging.WARNING, logger="unmask.images"):
        batches = list(iter_batches(items, 6, 2))
    assert [len(b[1]) for b in batches] == [2, 2]
    assert all(x.shape[1:] == (6, 6, 3) and x.dtype == np.float32 for x, _, _ in batches)
    assert "2.jpg" in caplog.text
    assert [p.endswith("2.jpg") for b in batches for p in b[2]].count(True) == 0


def test_decompression_bombs_and_corrupt_files_are_skipped_and_recorded(tmp_path):
    _folder(tmp_path, ["a"], per_class=3)
    Image.new("L", (14000, 14000)).save(tmp_path / "a" / "bomb.png")  # 196 Mpx: over PIL's bomb limit
    (tmp_path / "a" / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(ImageLoadError, match="bomb.png.*DecompressionBombError"):
        load_image(tmp_path / "a" / "bomb.png", 6)
    skipped: dict[str, str] = {}
    batches = list(iter_batches(list_image_folder(tmp_path, ["a"]), 6, 2, skipped))
    assert sum(len(b[1]) for b in batches) == 3
    assert sorted(skipped) == [str(tmp_path / "a" / "bomb.png"), str(tmp_path / "a" / "cut.jpg")]
    assert "DecompressionBombError" in skipped[str(tmp_path / "a" / "bomb.png")]


def test_check_images_rejects_what_would_give_valid_looking_verdicts():
    from unmask.images import check_images

    good = np.zeros((2, 4, 4, 3), dtype=np.float32)
    assert check_images(good).dtype == np.float32
    for bad, message in ((np.full((1, 4, 4, 3), np.nan, np.float32), "NaN"), (good[0], r"\[N, H, W, 3\]"),
                         (good + 2, r"\[0, 1\]"), (good.astype(bool), "dtype")):
        with pytest.raises(ValueError, match=message):
            check_images(bad)
