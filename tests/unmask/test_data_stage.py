"""The data stage prints our images per split beside KDD'19 Table 3 and BigData'20 Table 1."""
import numpy as np
import pytest
from PIL import Image

from unmask.pipeline import prepare_data
from unmask.presets import preset_from_dict


def test_data_stage_prints_our_split_beside_the_papers(tmp_path, capsys):
    voc = tmp_path / "VOC2010"
    for sub in ("JPEGImages", "Annotations", "Annotations_Part", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True)
    names = [f"2008_{i:06d}" for i in range(20)]
    for i, name in enumerate(names):  # 12 car, 8 person images; the .mat files are unreadable for K's conversion
        (voc / "Annotations_Part" / f"{name}.mat").write_bytes(b"")
        Image.fromarray(np.full((8, 8, 3), 10 * i, np.uint8)).save(voc / "JPEGImages" / f"{name}.jpg")
    for cls, members in (("car", names[:12]), ("person", names[12:]), ("train", [])):
        (voc / "ImageSets" / "Main" / f"{cls}_trainval.txt").write_text(
            "".join(f"{n}  1\n" if n in members else f"{n} -1\n" for n in names))
    preset = preset_from_dict({
        "name": "split", "output": str(tmp_path / "run"), "data": {"root": str(tmp_path), "split": "kdd2019"},
        "part_extractor": {"checkpoint": "k.h5"}, "models": [{"arch": "small_cnn"}], "class_sets": ["CS3a"],
        "attack_preset": "demo", "attacks": [{"name": "fgsm", "eps": 8}]})
    prepare_data(preset)
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("images (train / val / test)"))
    assert out[header].endswith("BigData'20 Table 1") and "ours: kdd2019 split" in out[header]
    assert out[header + 1].split() == ["K", *"0 / 0 / 0".split(), "-", *"7,457 / 930 / 936".split() * 2]
    cs3a = out[header + 2].split()  # 20 images: train 10, val 2, test 8 (all placed: no test folder)
    assert cs3a[:16] == ["CS3a", *"10 / 2 / 8".split() * 2, *"1,750 / 350 / 1,400".split()]
    assert out[header + 3].split()[:3] == ["CS3b", "-", "-"]


def test_kdd2019_split_needs_voc_image_sets_before_any_work(tmp_path):
    from unmask.evaluation import MissingInputError
    from unmask.pipeline import check_stage_inputs

    for sub in ("JPEGImages", "Annotations", "Annotations_Part"):
        (tmp_path / "VOC2010" / sub).mkdir(parents=True)
    raw = {"name": "split", "data": {"root": str(tmp_path)}, "part_extractor": {"checkpoint": "k.h5"},
           "models": [{"arch": "small_cnn"}], "class_sets": ["CS3a"], "attack_preset": "demo",
           "attacks": [{"name": "fgsm", "eps": 8}]}
    check_stage_inputs(preset_from_dict(raw), ("data",))  # ours reads the XML, which is there
    raw["data"]["split"] = "kdd2019"
    with pytest.raises(MissingInputError, match="VOC2010/ImageSets/Main") as info:
        check_stage_inputs(preset_from_dict(raw), ("data",))
    assert str(info.value).count("\n") == 1  # the only missing input
