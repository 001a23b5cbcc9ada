import numpy as np
import pytest

from dataset_tools.mat_format import (ImageAnnotation, MatFormatError, ObjectAnnotation, PartAnnotation,
                                      read_annotation, write_annotation)


def test_reads_one_object_with_one_part(tmp_path, raw):
    raw.save_mat(tmp_path / "a.mat", "2008_000001", [("dog", 12, [("lfpa", raw.box_mask(1, 1, 4, 4))])])
    anno = read_annotation(tmp_path / "a.mat")
    assert anno.imname == "2008_000001"
    assert [(o.cls, [p.name for p in o.parts]) for o in anno.objects] == [("dog", ["lfpa"])]
    assert anno.objects[0].parts[0].mask.sum() == 9


def test_reads_many_objects_and_an_object_without_parts(tmp_path, raw):
    raw.save_mat(tmp_path / "a.mat", "x", [("car", 7, [("wheel_1", raw.box_mask(0, 0, 2, 2)), ("door_1", raw.box_mask(3, 3, 5, 5))]),
                                       ("boat", 4, [])])
    anno = read_annotation(tmp_path / "a.mat")
    assert [o.cls for o in anno.objects] == ["car", "boat"]
    assert [p.name for p in anno.objects[0].parts] == ["wheel_1", "door_1"]
    assert anno.objects[1].parts == []


def test_writer_round_trip(tmp_path, raw):
    mask = raw.box_mask(2, 3, 7, 9)
    written = ImageAnnotation("2010_000002", [ObjectAnnotation("bird", mask, [PartAnnotation("beak", mask)]),
                                              ObjectAnnotation("train", mask, [])])
    write_annotation(tmp_path / "b.mat", written)
    anno = read_annotation(tmp_path / "b.mat")
    assert anno.objects[0].class_ind == 3 and anno.objects[1].parts == []
    assert np.array_equal(anno.objects[0].parts[0].mask, mask)


def test_garbage_file_raises_a_clear_error(tmp_path):
    (tmp_path / "bad.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(MatFormatError, match="bad.mat"):
        read_annotation(tmp_path / "bad.mat")
