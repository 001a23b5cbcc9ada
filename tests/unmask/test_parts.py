"""The shipped knowledge base: vocabulary, V, class sets, overlap statistics."""
import json
from pathlib import Path

import pytest

from unmask import parts

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "unmask_class_features.json"


def test_vocabulary_has_44_parts_in_original_order():
    assert len(parts.PARTS) == 44
    assert parts.PARTS[:3] == ("plant", "torso", "licenseplate")
    assert parts.PARTS[-1] == "foot"
    assert parts.PART_INDEX["headlight"] == parts.PARTS.index("headlight")
    # 'head' precedes 'headlight': the root of the legacy mislabelling.
    assert parts.PART_INDEX["head"] < parts.PART_INDEX["headlight"]


def test_sixteen_classes_every_feature_known():
    assert len(parts.CLASSES) == 16
    for cls, features in parts.CLASS_FEATURES.items():
        assert features, cls
        assert features <= set(parts.PARTS)
    assert parts.CLASS_FEATURES["bicycle"] == {"saddle", "wheel"}


@pytest.mark.skipif(not REFERENCE.exists(), reason="reference check: ../shared is not present")
def test_shipped_data_equals_reference():
    shipped = Path(parts.__file__).with_name("data") / "class_features.json"
    assert json.loads(shipped.read_text()) == json.loads(REFERENCE.read_text())


@pytest.mark.parametrize(
    "name, unique, overlap",
    [("CS3a", 29, 2 / 29), ("CS3b", 18, 0.5), ("CS5a", 34, 8 / 34), ("CS5b", 34, 10 / 34)],
)
def test_class_set_statistics_match_paper_table(name, unique, overlap):
    stats = parts.overlap_stats(parts.class_set(name))
    assert stats.unique_parts == unique
    assert stats.overlap_percent == pytest.approx(100 * overlap)


def test_paper_overlap_figures_within_their_printed_precision():
    # Paper Table 5 prints 6.89 (2/29 = 6.897, truncated), 50.00, 23.53, 29.41.
    printed = {"CS3a": 6.89, "CS3b": 50.00, "CS5a": 23.53, "CS5b": 29.41}
    for name, value in printed.items():
        assert abs(parts.overlap_stats(parts.class_set(name)).overlap_percent - value) < 0.01


def test_aliases_resolve_to_paper_names():
    assert parts.class_set("cs3-1") == parts.class_set("CS3a") == ("car", "person", "train")
    assert parts.class_set("cs5-2") == ("dog", "car", "bird", "train", "person")
    assert parts.canonical_class_set_name("cs3-2") == "CS3b"


def test_unknown_names_list_valid_ones():
    with pytest.raises(parts.UnknownNameError) as err:
        parts.check_classes(["dog", "dgo"])
    assert "dgo" in str(err.value) and "aeroplane" in str(err.value)
    with pytest.raises(parts.UnknownNameError) as err:
        parts.check_parts({"wheel", "propeller"})
    assert err.value.unknown == ["propeller"] and "wheel" in err.value.valid
    with pytest.raises(parts.UnknownNameError):
        parts.class_set("CS7")


def test_duplicate_classes_rejected():
    with pytest.raises(ValueError):
        parts.check_classes(["dog", "dog"])


def test_single_class_has_no_overlap():
    stats = parts.overlap_stats(["tvmonitor"])
    assert (stats.unique_parts, stats.shared_parts, stats.overlap_percent) == (1, 0, 0.0)
