"""The difficulty knobs of the synthetic dataset: easy is the first generator, hard truncates, occludes,
drops parts and varies scale and pose, and the annotations always describe only the visible pixels."""
import hashlib
import json
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from dataset_tools.mat_format import read_annotation
from dataset_tools.part_names import generalize
from dataset_tools.synth_canvas import BACKGROUND, Canvas, Texture
from dataset_tools.synth_objects import OPTIONAL_PARTS, Drawer, draw_bottle, draw_car, draw_person
from dataset_tools.synthetic import CLASSES, EASY, HARD, folder_classes, folder_image, generate, render_scene, voc_scene

FIRST_GENERATOR_DIGEST = "7ca770267329f011c49dc5e611f89fe2f8718a0dc2c88d6535b8e911f349ac23"
"""sha256 of the first generator's (before difficulty knobs) 12 scenes and 24 folder images at seed 5."""
MIN_AREA = 12
GREY = Texture("solid", (0.5, 0.5, 0.5))


def test_easy_reproduces_the_first_generator():
    digest = hashlib.sha256()
    for index in range(12):
        scene = voc_scene(index, 128, 5, CLASSES, EASY)
        objects = [(o.cls, v.pose, o.mask.tobytes(), [(p.name, p.mask.tobytes()) for p in o.parts])
                   for o, v in zip(scene.annotation.objects, scene.objects)]
        digest.update(repr((scene.image.tobytes(), objects, scene.quality)).encode())
    for style in ("imagenet", "flickr"):
        for cls in folder_classes():
            for index in range(2):
                image, quality = folder_image(style, cls, index, 128, 5, EASY)
                digest.update(repr((image.tobytes(), quality)).encode())
    assert digest.hexdigest() == FIRST_GENERATOR_DIGEST


def _car(size: int, x0: float, y0: float) -> Canvas:
    """A side-view-or-not car in the frame (x0, y0, 100, 62) of a size x size canvas (same draws every time)."""
    canvas = Canvas(np.zeros((size, size, 3), np.float32), np.random.default_rng(7))
    draw_car(Drawer(canvas, canvas.new_object("car"), x0, y0, 100.0, 62.0, 1, 8.0))
    return canvas


def test_a_truncated_objects_part_masks_are_the_whole_objects_cut_at_the_border():
    whole = [mask for _, _, mask in _car(256, 64.0, 64.0).part_masks(0)]
    canvas = _car(128, -40.0, 0.0)  # the same car, its rear 40 px beyond the left border
    seen = [mask for _, _, mask in canvas.part_masks(0)]
    assert len(seen) == len(whole)
    for mask, full in zip(seen, whole):  # OpenCV clips polygons at the border a pixel or two differently
        crop = full[64:192, 104:232]
        assert np.array_equal(mask[:, 4:], crop[:, 4:]) and (mask ^ crop).sum() <= 3
    cut = [i for i, mask in enumerate(seen) if 0 < mask.sum() < whole[i].sum()]
    hidden = [i for i, mask in enumerate(seen) if whole[i].any() and not mask.any()]
    assert cut and hidden and all(seen[i][:, 0].any() for i in cut)
    annotated = [mask for _, _, mask in canvas.part_masks(MIN_AREA)]
    assert len(annotated) <= len(seen) - len(hidden) and all(mask.sum() >= MIN_AREA for mask in annotated)


def test_fully_hidden_parts_are_not_annotated_and_the_object_is_occluded():
    canvas = _car(128, 10.0, 20.0)
    assert canvas.occluded == set()  # an object's own parts overlapping one another is no occlusion
    before = {name: mask for _, name, mask in canvas.part_masks(MIN_AREA)}
    cover = cv2.dilate(before["rightmirror"].astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    canvas.paint(BACKGROUND, cover, GREY)
    after = {name: mask for _, name, mask in canvas.part_masks(MIN_AREA)}
    expected = {name: mask & ~cover for name, mask in before.items() if (mask & ~cover).sum() >= MIN_AREA}
    assert "rightmirror" in before and "rightmirror" not in after and canvas.occluded == {0}
    assert after.keys() == expected.keys() and all(np.array_equal(after[n], expected[n]) for n in after)


def test_another_object_in_front_occludes_the_one_behind():
    canvas = _car(128, 10.0, 20.0)
    draw_bottle(Drawer(canvas, canvas.new_object("bottle"), 40.0, 0.0, 30.0, 90.0, 1, 8.0))
    assert canvas.occluded == {0}
    assert not (canvas.object_mask(0) & canvas.object_mask(1)).any()


def test_dropout_leaves_out_optional_parts_only():
    canvas = Canvas(np.zeros((128, 128, 3), np.float32), np.random.default_rng(1))
    drawer = Drawer(canvas, canvas.new_object("person"), 40.0, 4.0, 60.0, 120.0, 1, 8.0, dropout=1.0,
                    fx=np.random.default_rng(2))
    draw_person(drawer)
    found = {generalize(name) for _, name, _ in canvas.part_masks(1)}
    assert found == {"head", "neck", "torso", "arm", "leg", "eye", "nose"}
    assert {generalize(canvas.parts[pid][1]) for pid in drawer.dropped} <= OPTIONAL_PARTS


def test_rotation_turns_the_object_about_its_frame():
    def box(rotation):
        canvas = Canvas(np.zeros((128, 128, 3), np.float32), np.random.default_rng(3))
        draw_bottle(Drawer(canvas, canvas.new_object("bottle"), 49.0, 19.0, 30.0, 90.0, 1, 8.0, rotation=rotation))
        ys, xs = np.nonzero(canvas.object_mask(0))
        return np.ptp(xs) + 1, np.ptp(ys) + 1

    (w0, h0), (w90, h90) = box(0.0), box(90.0)
    assert h0 > 2.5 * w0 and w90 > 2.5 * h90 and abs(w90 - h0) <= 2


def _xml_objects(path):
    root = ET.parse(path).getroot()
    size = int(root.findtext("size/width"))
    for node in root.iter("object"):
        box = tuple(int(node.findtext(f"bndbox/{tag}")) for tag in ("xmin", "ymin", "xmax", "ymax"))
        yield node.findtext("name"), box, node.findtext("truncated") == "1", node.findtext("occluded") == "1", size


@pytest.fixture(scope="module")
def hard_scenes(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("hard"), n_images=40, seed=11, imagenet_per_class=0, flickr_per_class=0)


def test_hard_scenes_record_truncation_and_occlusion_in_both_annotations(hard_scenes):
    voc = hard_scenes / "VOC2010"
    flags, objects_per_scene = [], []
    for xml in sorted((voc / "Annotations").glob("*.xml")):
        anno = read_annotation(voc / "Annotations_Part" / f"{xml.stem}.mat")
        listed = list(_xml_objects(xml))
        assert [o.cls for o in anno.objects] == [name for name, *_ in listed]
        objects_per_scene.append(len(listed))
        for obj, (_, box, truncated, occluded, size) in zip(anno.objects, listed):
            ys, xs = np.nonzero(obj.mask)
            assert box == (xs.min() + 1, ys.min() + 1, xs.max() + 1, ys.max() + 1)
            assert truncated == (box[0] == 1 or box[1] == 1 or box[2] == size or box[3] == size)
            for part in obj.parts:
                assert part.mask.sum() >= MIN_AREA and not (part.mask.astype(bool) & ~obj.mask.astype(bool)).any()
            if truncated:  # cut at the border: some part reaches the edge the object reaches
                edge = np.concatenate([obj.mask[0], obj.mask[-1], obj.mask[:, 0], obj.mask[:, -1]]).astype(bool)
                assert edge.any() and any(np.concatenate([p.mask[0], p.mask[-1], p.mask[:, 0], p.mask[:, -1]]).any()
                                          for p in obj.parts)
            flags.append((truncated, occluded))
    truncated, occluded = np.mean(flags, axis=0)
    assert truncated >= 0.15 and occluded >= 0.3, (truncated, occluded)
    assert max(objects_per_scene) >= 3 and np.mean(objects_per_scene) > 1.2


def test_hard_single_object_images_vary_in_scale_and_lose_parts():
    areas, truncated, occluded, hidden, extra = [], 0, 0, 0, 0
    for index in range(40):
        cls = CLASSES[index % len(CLASSES)]
        _, canvas, poses = render_scene([cls], 128, np.random.default_rng([9, index]), "flickr", HARD.single)
        assert len(poses) == len(canvas.objects) and cls in canvas.objects
        main = canvas.objects.index(cls)
        mask = canvas.object_mask(main)
        areas.append(mask.mean())
        truncated += bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
        occluded += main in canvas.occluded
        named = {pid for pid, (o, name) in enumerate(canvas.parts) if o == main and name is not None}
        hidden += any(not (canvas.owner == pid).any() for pid in named)
        extra += len(canvas.objects) > 1
    assert max(areas) > 4 * min(areas)
    assert truncated >= 8 and occluded >= 12 and hidden >= 12 and extra >= 2, (truncated, occluded, hidden, extra)


def test_the_manifest_records_the_difficulty_and_a_folder_keeps_its_own(tmp_path):
    generate(tmp_path, n_images=2, imagenet_per_class=0, flickr_per_class=1, difficulty="easy")
    options = json.loads((tmp_path / "synthetic.json").read_text())["options"]
    assert options["difficulty"]["name"] == "easy" and options["difficulty"]["scenes"]["extra_objects"] == [0.2]
    with pytest.raises(ValueError, match="another --out"):
        generate(tmp_path, n_images=2, imagenet_per_class=0, flickr_per_class=1)
    with pytest.raises(ValueError, match="valid: easy, hard"):
        generate(tmp_path / "other", difficulty="medium")
