import pytest

from dataset_tools.part_names import category_of, generalize, raw_part_names
from unmask.parts import CLASS_FEATURES, PART_INDEX


@pytest.mark.parametrize("raw, expected", [
    ("lebrow", "eyebrow"), ("rebrow", "eyebrow"), ("handlebar", "hand"), ("lhand", "hand"),
    ("hroofside", None), ("hfrontside", None), ("coach_3", None), ("cleftside_1", "coach_left"),
    ("crightside_2", "coach_right"), ("cfrontside_1", "coach_front"), ("cbackside_4", "coach_back"),
    ("croofside_5", "coach_top"), ("lfho", "hoof"), ("rbho", "hoof"), ("lfpa", "paw"), ("llleg", "leg"),
    ("lfuleg", "leg"), ("rear", "ear"), ("leye", "eye"), ("llarm", "arm"), ("lhorn", "horn"),
    ("chainwheel", "wheel"), ("wheel_2", "wheel"), ("lfoot", "foot"), ("rightside", "vehicle_right"),
    ("leftside", "vehicle_left"), ("roofside", "vehicle_top"), ("backside", "vehicle_back"),
    ("frontside", "frontside"), ("lwing", "wing"), ("engine_3", "engine"), ("window_12", "window"),
    ("headlight_1", "headlight"), ("door_2", "door"), ("fliplate", "licenseplate"), ("bliplate", "licenseplate"),
    ("leftmirror", "mirror"), ("head", "head"), ("muzzle", "muzzle"), ("saddle", "saddle"), ("dog", None),
])
def test_rules_in_order(raw, expected):
    assert generalize(raw) == expected


def test_every_raw_name_maps_into_the_44_parts_or_is_dropped():
    for cls, names in raw_part_names().items():
        generalized = {generalize(n) for n in names} - {None}
        assert generalized <= PART_INDEX.keys(), cls
        if cls not in ("bicycle", "motorbike"):  # V leaves out the 'hand' their handlebars become
            assert generalized == CLASS_FEATURES[cls], cls


def test_legacy_lookup_labels_headlights_as_head_and_nothing_else_changes():
    assert category_of("headlight", "2008_000001", 1, legacy=True) == PART_INDEX["head"]
    assert category_of("headlight", "2008_000001", 1, legacy=False) == PART_INDEX["headlight"]
    for part in PART_INDEX:
        if part != "headlight":
            assert category_of(part, "2008_000001", 2, legacy=True) == PART_INDEX[part], part
