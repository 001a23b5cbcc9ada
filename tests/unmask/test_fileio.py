"""The one atomic writer: file modes follow the umask, failures leave the old file and no temporary
file, the helpers round-trip, place_file links or copies once."""
import json
import os
import stat

import numpy as np
import pytest

from unmask import fileio


@pytest.fixture
def umask():
    """Set the process umask for one test, then restore it."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_umask_mode(tmp_path, umask, mask, expected):
    umask(mask)
    target = fileio.write_bytes_atomic(tmp_path / "sub" / "a.bin", b"abc")
    assert target.read_bytes() == b"abc"
    assert mode(target) == expected
    assert mode(fileio.write_json_atomic(tmp_path / "b.json", {"x": 1})) == expected


def test_failed_serialization_keeps_the_old_file(tmp_path):
    target = fileio.write_json_atomic(tmp_path / "r.json", {"old": True})
    for bad in ({"x": float("nan")}, {"x": object()}):
        with pytest.raises((ValueError, TypeError)):
            fileio.write_json_atomic(target, bad)
    assert json.loads(target.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_failed_replace_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = fileio.write_text_atomic(tmp_path / "t.txt", "old\n")

    def fail(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk gone"):
        fileio.write_text_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_json_text_is_strict_with_a_trailing_newline():
    assert fileio.json_text({"a": [1, 2]}) == '{\n "a": [\n  1,\n  2\n ]\n}\n'
    assert fileio.json_text({"a": 1}, indent=None) == '{"a": 1}\n'
    with pytest.raises(ValueError):
        fileio.json_text([float("inf")])


@pytest.mark.parametrize("compressed", [True, False])
def test_npz_round_trip(tmp_path, compressed):
    arrays = {"images": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "names": np.asarray(["a", "bc"])}
    path = fileio.write_npz_atomic(tmp_path / "x.npz", arrays, compressed=compressed)
    with np.load(path) as loaded:
        assert sorted(loaded.files) == ["images", "names"]
        np.testing.assert_array_equal(loaded["images"], arrays["images"])
        assert loaded["names"].tolist() == ["a", "bc"]


def test_read_json_is_none_for_missing_or_damaged_files(tmp_path):
    assert fileio.read_json(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text('{"a": ')
    assert fileio.read_json(tmp_path / "bad.json") is None
    assert fileio.read_json(fileio.write_json_atomic(tmp_path / "ok.json", [1])) == [1]


def test_place_file_links_once(tmp_path):
    src = tmp_path / "src.jpg"
    src.write_bytes(b"jpeg bytes")
    dst = tmp_path / "out" / "dst.jpg"
    assert fileio.place_file(src, dst) is True
    assert dst.read_bytes() == b"jpeg bytes" and dst.stat().st_ino == src.stat().st_ino
    assert fileio.place_file(src, dst) is False


def test_place_file_copies_when_it_cannot_link(tmp_path, monkeypatch):
    src = tmp_path / "src.jpg"
    src.write_bytes(b"jpeg bytes")
    dst = tmp_path / "dst.jpg"
    dst.write_bytes(b"old")

    def no_link(a, b):
        raise OSError("cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    assert fileio.place_file(src, dst) is True
    assert dst.read_bytes() == b"jpeg bytes" and dst.stat().st_ino != src.stat().st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst.jpg", "src.jpg"]
