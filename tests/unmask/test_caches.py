"""The evaluator's caches: benign part sets survive a cut line, attacked batches survive a cut file."""
import json
import logging
import os

import numpy as np

from unmask.evaluation.caches import AttackedBatchCache, BenignPartCache, CountingExtractor, fingerprint


class FakeK:
    """Finds the part 'wheel' in every image it is given (a stand-in with a countable call)."""

    def __init__(self):
        self.calls = 0

    def extract(self, images):
        self.calls += len(images)
        return [{"wheel"} for _ in images]


def test_a_cut_last_line_is_dropped_and_the_file_repaired(tmp_path, caplog):
    path = tmp_path / "parts.jsonl"
    path.write_text(json.dumps({"key": "a", "parts": ["wheel"]}) + "\n" + '{"key": "b", "par')  # killed mid-write
    with caplog.at_level(logging.WARNING):
        cache = BenignPartCache(path)
    assert cache.parts == {"a": frozenset({"wheel"})} and "broken line" in caplog.text
    assert path.read_text() == json.dumps({"key": "a", "parts": ["wheel"]}) + "\n"  # repaired: next appends are whole
    caplog.clear()
    k = FakeK()
    cache.lookup(CountingExtractor(lambda: k), np.zeros((2, 4, 4, 3), np.float32), ["a", "b"])
    assert k.calls == 1  # only b
    with caplog.at_level(logging.WARNING):
        again = BenignPartCache(path)
    assert set(again.parts) == {"a", "b"} and not caplog.text  # no warning on every later run


def test_the_key_changes_when_the_image_file_is_replaced(tmp_path):
    image = tmp_path / "x.png"
    image.write_bytes(b"one")
    before = BenignPartCache.key(str(image), 32)
    image.write_bytes(b"other")
    os.utime(image, ns=(1, 1))
    assert BenignPartCache.key(str(image), 32) != before != BenignPartCache.key(str(image), 64)


def test_a_truncated_attacked_batch_is_recomputed_and_named(tmp_path, caplog):
    cache = AttackedBatchCache(tmp_path / "adv")
    labels = np.array([0, 1])
    cache.save(0, labels, np.zeros((2, 4, 4, 3), np.float32), np.array([1, 1]), np.array([True, False]),
               [frozenset({"wheel"}), frozenset()])
    saved = cache.load(0, labels, need_parts=True)
    assert saved["predicted"].tolist() == [1, 1] and saved["parts"] == [frozenset({"wheel"}), frozenset()]
    assert cache.load(0, np.array([1, 1]), need_parts=True) is None  # other labels: another batch
    data = cache.path(0).read_bytes()
    cache.path(0).write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        assert cache.load(0, labels, need_parts=True) is None
    assert str(cache.path(0)) in caplog.text


def test_a_batch_saved_without_parts_is_recomputed_when_parts_are_needed(tmp_path):
    cache = AttackedBatchCache(tmp_path)
    labels = np.array([0])
    cache.save(0, labels, np.zeros((1, 4, 4, 3), np.float32), np.array([0]), np.array([False]), None)
    assert cache.load(0, labels, need_parts=False)["parts"] is None
    assert cache.load(0, labels, need_parts=True) is None


def test_fingerprint_is_stable_and_sensitive():
    assert fingerprint({"a": 1, "b": [2, 3]}) == fingerprint({"b": [2, 3], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
