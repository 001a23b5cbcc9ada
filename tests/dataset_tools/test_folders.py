import numpy as np
from PIL import Image

from dataset_tools.folders import HashCache, dedup, hamming, image_error, list_class_folders, phash


def _picture(path, seed, size=64):
    """A smooth random picture (phash needs low-frequency content)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)
    Image.fromarray(small).resize((size, size), Image.BICUBIC).save(path, quality=95)


def test_hamming_counts_differing_bits():
    assert hamming([0b1011], [0b0001, 0b1011, 2**64 - 1]).tolist() == [[2, 0, 61]]


def test_re_encoded_and_resized_copies_are_near_duplicates(tmp_path):
    _picture(tmp_path / "a.jpg", 1)
    Image.open(tmp_path / "a.jpg").resize((80, 80)).save(tmp_path / "a_copy.jpg", quality=60)
    _picture(tmp_path / "b.jpg", 2)
    h = HashCache()
    assert hamming([h(tmp_path / "a.jpg")], [h(tmp_path / "a_copy.jpg")])[0, 0] <= 4
    assert hamming([h(tmp_path / "a.jpg")], [h(tmp_path / "b.jpg")])[0, 0] > 10
    assert h(tmp_path / "a.jpg") == phash(tmp_path / "a.jpg")


def test_dedup_drops_copies_of_reference_and_within_candidates(tmp_path):
    for i in range(4):
        _picture(tmp_path / f"ref{i}.jpg", i)
    Image.open(tmp_path / "ref0.jpg").save(tmp_path / "test_copy.jpg", quality=70)
    _picture(tmp_path / "test_new.jpg", 10)
    Image.open(tmp_path / "test_new.jpg").save(tmp_path / "test_new_again.jpg", quality=80)
    (tmp_path / "test_broken.jpg").write_bytes(b"broken")
    candidates = [tmp_path / n for n in ("test_copy.jpg", "test_new.jpg", "test_new_again.jpg", "test_broken.jpg")]
    kept, dropped = dedup(candidates, [tmp_path / f"ref{i}.jpg" for i in range(4)], threshold=6)
    assert kept == [tmp_path / "test_new.jpg"]
    why = {d["file"].rsplit("/", 1)[1]: (d["duplicate_of"] or "").rsplit("/", 1)[-1] for d in dropped}
    assert why == {"test_copy.jpg": "ref0.jpg", "test_new_again.jpg": "test_new.jpg", "test_broken.jpg": ""}


def test_class_folders_and_image_errors(tmp_path):
    for cls in ("dog", "car", "boat"):
        (tmp_path / cls).mkdir()
        _picture(tmp_path / cls / "1.jpg", 0)
    (tmp_path / "dog" / "notes.txt").write_text("x")
    data = (tmp_path / "dog" / "1.jpg").read_bytes()
    (tmp_path / "dog" / "2.jpg").write_bytes(data[:200])
    images, ignored = list_class_folders(tmp_path, {"dog", "car"})
    assert sorted(images) == ["car", "dog"] and ignored == ["boat"]
    assert [p.name for p in images["dog"]] == ["1.jpg", "2.jpg"]
    assert image_error(images["dog"][0]) is None and "truncated" in image_error(images["dog"][1]).lower()
