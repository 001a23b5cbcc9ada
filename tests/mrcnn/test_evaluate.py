"""COCO mAP of detections: ground truth scores 1, shifted detections score lower, batching is right."""
import json
from types import SimpleNamespace

import numpy as np
import PIL.Image
import pytest
from pycocotools import mask as mask_utils

from mrcnn import evaluate, utils
from unmask.parts import PARTS

SIZE = 64
# per image: (category id, y1, x1, y2, x2) rectangles
OBJECTS = {
    1: [(0, 4, 4, 30, 40), (43, 34, 10, 60, 30)],
    2: [(20, 10, 20, 50, 60)],
    3: [(0, 0, 0, 20, 20), (20, 30, 30, 62, 62)],
}


@pytest.fixture()
def parts_dataset(tmp_path):
    """A converter-style COCO split with three images whose pixel value encodes their COCO id."""
    (tmp_path / "val").mkdir()
    images, annotations = [], []
    for image_id, objects in OBJECTS.items():
        name = f"{image_id}.png"
        PIL.Image.fromarray(np.full((SIZE, SIZE, 3), image_id, np.uint8)).save(tmp_path / "val" / name)
        images.append({"id": image_id, "file_name": name, "height": SIZE, "width": SIZE})
        for category, y1, x1, y2, x2 in objects:
            mask = np.zeros((SIZE, SIZE), dtype=np.uint8, order="F")
            mask[y1:y2, x1:x2] = 1
            rle = mask_utils.encode(mask)
            rle["counts"] = rle["counts"].decode("ascii")
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "iscrowd": 0, "segmentation": rle, "area": float(mask.sum()),
                                "bbox": [float(v) for v in mask_utils.toBbox(rle)]})
    categories = [{"id": i, "name": name} for i, name in enumerate(PARTS)]
    path = tmp_path / "val.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    dataset = utils.CocoDataset()
    coco = dataset.load_coco(str(path), str(tmp_path / "val"), return_coco=True)
    dataset.prepare()
    return dataset, coco


def _ground_truth_detections(dataset, image_id, shift=0):
    masks, class_ids = dataset.load_mask(image_id)
    if shift:  # move right by `shift` pixels, dropping what leaves the image
        masks = np.concatenate([np.zeros_like(masks[:, :shift]), masks[:, :-shift]], axis=1)
    return {"rois": utils.extract_bboxes(masks), "class_ids": class_ids,
            "scores": np.linspace(1.0, 0.9, len(class_ids)), "masks": masks}


def _results(dataset, shift=0):
    results = []
    for image_id in dataset.image_ids:
        r = _ground_truth_detections(dataset, image_id, shift)
        results += evaluate.build_coco_results(dataset, [dataset.image_info[image_id]["id"]], r["rois"],
                                               r["class_ids"], r["scores"], r["masks"])
    return results


def test_build_coco_results_maps_ids_boxes_and_masks(parts_dataset):
    dataset, _ = parts_dataset
    r = _ground_truth_detections(dataset, 0)
    results = evaluate.build_coco_results(dataset, [1], r["rois"], r["class_ids"], r["scores"], r["masks"])
    json.dumps(results)
    assert [res["category_id"] for res in results] == [0, 43]  # internal ids 1 and 44
    assert results[0]["image_id"] == 1
    assert results[0]["bbox"] == [4.0, 4.0, 36.0, 26.0]  # x, y, w, h
    assert results[1]["score"] == pytest.approx(0.9)
    np.testing.assert_array_equal(mask_utils.decode(results[1]["segmentation"]), r["masks"][:, :, 1])
    assert evaluate.build_coco_results(dataset, [1], None, None, None, None) == []
    with pytest.raises(ValueError, match="one image"):
        evaluate.build_coco_results(dataset, [1, 2], r["rois"], r["class_ids"], r["scores"], r["masks"])


@pytest.mark.parametrize("eval_type", ["bbox", "segm"])
def test_ground_truth_scores_one_and_shifted_scores_lower(parts_dataset, eval_type):
    dataset, coco = parts_dataset
    perfect = evaluate.evaluate_results(coco, _results(dataset), eval_type)
    assert set(perfect) == set(evaluate.STAT_NAMES)
    assert perfect["AP"] == pytest.approx(1.0) and perfect["AP50"] == pytest.approx(1.0)
    assert perfect["AR100"] == pytest.approx(1.0)
    shifted = evaluate.evaluate_results(coco, _results(dataset, shift=4), eval_type)
    assert 0.0 < shifted["AP"] < 0.9
    assert shifted["AP50"] == pytest.approx(1.0)  # every shifted box still has IoU > 0.5
    assert evaluate.evaluate_results(coco, [], eval_type)["AP"] == 0.0


def test_image_subset_and_bad_input(parts_dataset):
    dataset, coco = parts_dataset
    first_only = [r for r in _results(dataset) if r["image_id"] == 1]
    assert evaluate.evaluate_results(coco, first_only, "segm", image_ids=[1])["AP"] == pytest.approx(1.0)
    assert evaluate.evaluate_results(coco, first_only, "segm")["AP"] < 1.0
    with pytest.raises(ValueError, match="eval_type"):
        evaluate.evaluate_results(coco, first_only, "keypoints")
    coco.dataset["annotations"][0]["id"] = 0
    with pytest.raises(ValueError, match="id 0"):
        evaluate.evaluate_results(coco, first_only, "bbox")


class _OracleDetector:
    """Returns an image's ground truth (recognized by its pixel value = COCO id) as its detections."""

    def __init__(self, dataset, batch_size):
        self.config = SimpleNamespace(BATCH_SIZE=batch_size)
        self.dataset = dataset
        self.batches = []

    def detect(self, images, verbose=0):
        assert len(images) == self.config.BATCH_SIZE
        coco_ids = [int(image[0, 0, 0]) for image in images]
        self.batches.append(coco_ids)
        return [_ground_truth_detections(self.dataset, self.dataset.image_from_source_map[f"parts.{i}"])
                for i in coco_ids]


def test_evaluate_coco_runs_the_model_in_batches(parts_dataset):
    dataset, coco = parts_dataset
    model = _OracleDetector(dataset, batch_size=2)
    stats = evaluate.evaluate_coco(model, dataset, coco, "segm", verbose=False)
    assert model.batches == [[1, 2], [3, 3]]  # the last batch is filled with its last image
    assert stats["AP"] == pytest.approx(1.0)
    model.batches.clear()
    stats = evaluate.evaluate_coco(model, dataset, coco, "bbox", limit=1, verbose=False)
    assert model.batches == [[1, 1]] and stats["AP"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no images"):
        evaluate.evaluate_coco(model, dataset, coco, image_ids=[], verbose=False)
