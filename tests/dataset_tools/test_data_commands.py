import json

from pycocotools.coco import COCO

from unmask.cli import main


def test_synth_then_pascal_part_then_classsets_end_to_end(tmp_path, capsys):
    raw, parts, sets = tmp_path / "raw", tmp_path / "parts", tmp_path / "sets"
    assert main(["data", "synth", "--out", str(raw), "--images", "40", "--imagenet-per-class", "2",
                 "--flickr-per-class", "2", "--seed", "3"]) == 0
    assert "VOC2010 scenes: 40" in capsys.readouterr().out
    assert main(["data", "pascal-part", "--voc-root", str(raw / "VOC2010"), "--out", str(parts)]) == 0
    printed = capsys.readouterr().out
    assert "train     32 images" in printed and "skipped:" in printed and "coach" in printed
    coco = COCO(str(parts / "train.json"))
    assert len(coco.getImgIds()) == 32 and coco.getAnnIds()
    image = coco.loadImgs(coco.getImgIds()[0])[0]
    assert (parts / "train" / image["file_name"]).is_file()
    assert main(["data", "classsets", "--voc-root", str(raw / "VOC2010"), "--out", str(sets),
                 "--imagenet", str(raw / "imagenet"), "--flickr", str(raw / "flickr")]) == 0
    printed = capsys.readouterr().out
    assert "test split from flickr" in printed and "CS5b:" in printed
    summary = json.loads((sets / "summary.json").read_text())
    assert summary["counts"]["CS3a"]["test"] == {"car": 2, "person": 2, "train": 2}
    assert summary["dedup_dropped"] == []
    for cls in ("dog", "car", "bird", "train", "person"):
        assert len(list((sets / "CS5b" / "train" / cls).glob("*.jpg"))) >= 2


def test_dedup_command_reports_and_deletes(tmp_path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path / "raw"), "--images", "4", "--imagenet-per-class", "1",
                 "--flickr-per-class", "1"]) == 0
    test_dir = tmp_path / "test"
    test_dir.mkdir()
    source = tmp_path / "raw" / "VOC2010" / "JPEGImages" / "2010_000001.jpg"
    (test_dir / "copy.jpg").write_bytes(source.read_bytes())
    (test_dir / "other.jpg").write_bytes((tmp_path / "raw" / "flickr" / "dog" / "dog_00000.jpg").read_bytes())
    assert main(["data", "dedup", "--test", str(test_dir), "--reference", str(source.parent),
                 "--report", str(tmp_path / "report.json"), "--delete"]) == 0
    assert "1 kept, 1 near-duplicates" in capsys.readouterr().out
    assert sorted(p.name for p in test_dir.iterdir()) == ["other.jpg"]
    assert json.loads((tmp_path / "report.json").read_text())["dropped"][0]["distance"] == 0


def test_missing_input_is_a_clear_error(tmp_path, capsys):
    assert main(["data", "pascal-part", "--voc-root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "unmask data synth" in capsys.readouterr().err
