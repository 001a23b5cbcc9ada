"""K as the part extractor: the float path and the original code's uint8 path (``quantize``)."""
from pathlib import Path

import numpy as np
import pytest

from mrcnn import utils

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = ROOT / "checkpoints" / "demo" / "mask_rcnn_parts_demo.h5"


@pytest.fixture(scope="module")
def extractor():
    """The shipped demo K (small config, 128 px canvas), batch 2, quantizing, with the background logit
    lowered so that every ROI is some part: noise images then give the full 20 detections."""
    from unmask.extractor import MaskRCNNExtractor

    k = MaskRCNNExtractor(CHECKPOINT, "small", {"TRAIN_BN": True}, batch_size=2, quantize=True)
    logits = k.model.keras_model.get_layer("mrcnn_class_logits")
    kernel, bias = logits.get_weights()
    bias[0] -= 30.0
    logits.set_weights([kernel, bias])
    return k


@pytest.fixture
def seen(extractor, monkeypatch):
    """The molded batches the network was given, in call order."""
    batches = []
    run = extractor.model._run_graph

    def recording(molded, metas, *args):
        batches.append(np.array(molded))
        return run(molded, metas, *args)

    monkeypatch.setattr(extractor.model, "_run_graph", recording)
    return batches


def _images() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grey levels g, x = (g + 0.3) / 255, x + 0.15 / 255): x and the nudged x truncate to the same g."""
    grey = np.random.default_rng(0).integers(0, 255, (2, 40, 48, 3)).astype(np.uint8)
    x = ((grey + 0.3) / 255).astype(np.float32)
    return grey, x, x + np.float32(0.15 / 255)


def _detections(results: list[dict]) -> list[tuple]:
    return [(r["rois"].tolist(), r["class_ids"].tolist(), r["scores"].tolist()) for r in results]


def test_quantized_k_sees_the_originals_uint8_canvas_and_ignores_sub_grey_level_changes(extractor, seen, monkeypatch):
    grey, x, nudged = _images()
    c = extractor.config
    canvases = [utils.resize_image(g, min_dim=c.IMAGE_MIN_DIM, max_dim=c.IMAGE_MAX_DIM, min_scale=c.IMAGE_MIN_SCALE,
                                   mode=c.IMAGE_RESIZE_MODE)[0] for g in grey]
    assert canvases[0].dtype == np.uint8 and canvases[0].shape == (128, 128, 3)
    expected = _detections(extractor.model.detect(canvases, unmold_masks=False))  # the original's call
    quantized = _detections(extractor.detect(x, masks=False))
    assert quantized == expected and all(len(ids) == 20 for _, ids, _ in quantized)
    assert _detections(extractor.detect(nudged, masks=False)) == quantized
    assert extractor.extract(nudged) == extractor.extract(x)
    assert all(np.array_equal(batch, seen[0]) for batch in seen[1:4])  # the network saw the same input
    monkeypatch.setattr(extractor, "quantize", False)  # the float path: the nudge reaches the network
    floats = _detections(extractor.detect(x, masks=False)), _detections(extractor.detect(nudged, masks=False))
    assert not np.array_equal(seen[-2], seen[-1]) and floats[0] != floats[1]
    assert 0 < np.abs(seen[-2] - seen[-1]).max() < 0.5  # under half a grey level, after the resize


def test_quantized_k_filters_zero_area_boxes_at_the_canvas_scale(extractor, monkeypatch):
    """A slightly inverted box (y2 < y1 by 0.006 of the canvas) rounds to 1 px in the 40 px image and to
    0 px on the 128 px canvas. Matterport's unmold_detections filters in the pixels of the image
    detect() was given: the float path keeps the box, the original's call, on the canvas, drops it."""
    _, x, _ = _images()
    detections = np.zeros((2, 20, 6), np.float32)
    detections[:, 0] = [0.51, 0.1, 0.504, 0.6, 3, 0.9]
    masks = np.ones((2, 20, 28, 28, 45), np.float32)
    monkeypatch.setattr(extractor.model, "_run_graph", lambda molded, metas, *args: (detections, masks))
    kept = {}
    for quantize in (False, True):
        monkeypatch.setattr(extractor, "quantize", quantize)
        kept[quantize] = [r["class_ids"].tolist() for r in extractor.detect(x, masks=False)]
    assert kept == {False: [[3], [3]], True: [[], []]}
