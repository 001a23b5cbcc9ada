"""The Mask R-CNN graph: anchors, graph layers on hand-made boxes, losses, Matterport names, detect()."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

from mrcnn import model as M
from mrcnn import utils
from mrcnn.config import Config, small_cpu_config
from mrcnn.weights import layer_weight_entries


@pytest.fixture(scope="module")
def inference_model(tmp_path_factory):
    config = small_cpu_config(NUM_CLASSES=4, IMAGES_PER_GPU=3, DETECTION_MIN_CONFIDENCE=0)
    return M.MaskRCNN("inference", config, str(tmp_path_factory.mktemp("logs")))


# --- anchors -----------------------------------------------------------------------------------------

def test_anchor_counts_and_order(inference_model):
    anchors = inference_model.get_anchors((128, 128, 3))
    # (32^2 + 16^2 + 8^2 + 4^2 + 2^2) positions x 3 ratios
    assert anchors.shape == (4092, 4) and anchors.dtype == np.float32
    # Matterport's default 1024 px input: 261,888 anchors (count depends on strides and ratios only)
    assert inference_model.get_anchors((1024, 1024, 3)).shape == (261888, 4)
    pixel = inference_model.anchors
    scale = inference_model.config.RPN_ANCHOR_SCALES[0]
    # first anchor: level P2, row 0, column 0, ratio 0.5 -> h = s/sqrt(0.5), w = s*sqrt(0.5), centre (0, 0)
    h, w = scale / np.sqrt(0.5), scale * np.sqrt(0.5)
    np.testing.assert_allclose(pixel[0], [-h / 2, -w / 2, h / 2, w / 2], rtol=1e-6)
    # next three: ratios 1 and 2, then column 1 (centre x = stride 4)
    np.testing.assert_allclose(pixel[3, [1, 3]], [4 - w / 2, 4 + w / 2], rtol=1e-6)
    np.testing.assert_allclose(inference_model.get_anchors((1024, 1024, 3)), utils.norm_boxes(pixel, (1024, 1024)))


def test_compute_backbone_shapes_ceil():
    shapes = M.compute_backbone_shapes(Config(), (1000, 832, 3))
    assert shapes.tolist() == [[250, 208], [125, 104], [63, 52], [32, 26], [16, 13]]


# --- proposal layer ----------------------------------------------------------------------------------

def test_proposal_layer_top_k_deltas_clip_nms_and_padding():
    config = small_cpu_config(NUM_CLASSES=2, PRE_NMS_LIMIT=3)
    anchors = np.array([[[0.1, 0.1, 0.3, 0.3],      # best score
                         [0.11, 0.11, 0.31, 0.31],  # overlaps the best: suppressed
                         [0.5, 0.5, 0.9, 0.9],      # moved down by its delta
                         [-0.1, 0.8, 0.2, 1.2],     # dropped by PRE_NMS_LIMIT=3
                         [0.6, 0.0, 0.7, 0.1]]],    # lowest score, dropped too
                       dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1], dtype=np.float32)
    probs = np.stack([1 - scores, scores], axis=-1)[None]
    deltas = np.zeros((1, 5, 4), dtype=np.float32)
    deltas[0, 2] = [1.0, 0.0, 0.0, 0.0]  # x RPN_BBOX_STD_DEV 0.1 -> dy = 0.1 * height 0.4
    layer = M.ProposalLayer(proposal_count=4, nms_threshold=0.7, config=config)
    out = layer([tf.constant(probs), tf.constant(deltas), tf.constant(anchors)]).numpy()
    np.testing.assert_allclose(out[0], [[0.1, 0.1, 0.3, 0.3], [0.54, 0.5, 0.94, 0.9], [0, 0, 0, 0], [0, 0, 0, 0]],
                               atol=1e-6)
    # with a larger limit the out-of-image anchor comes back clipped to [0, 1]
    config.PRE_NMS_LIMIT = 5
    out = M.ProposalLayer(4, 0.7, config)([tf.constant(probs), tf.constant(deltas), tf.constant(anchors)]).numpy()
    np.testing.assert_allclose(out[0, 2], [0.0, 0.8, 0.2, 1.0], atol=1e-6)


# --- ROIAlign ----------------------------------------------------------------------------------------

def test_pyramid_roi_align_levels_order_and_bilinear_values():
    # 1024 x 1024 image: a normalized side of 224/1024 goes to P4, each halving one level down
    side = {2: 0.0546875, 3: 0.109375, 4: 0.21875, 5: 0.4375}
    boxes = np.array([[[0, 0, side[5], side[5]], [0, 0, side[2], side[2]]],
                      [[0, 0, side[4], side[4]], [0.5, 0.5, 0.5 + side[3], 0.5 + side[3]]]], dtype=np.float32)
    meta = np.stack([M.compose_image_meta(0, (1024, 1024, 3), (1024, 1024, 3), (0, 0, 1024, 1024), 1, [1, 1])] * 2)
    maps = []
    for level in range(2, 6):
        n = 1024 // 2 ** level
        columns = np.broadcast_to(np.arange(n, dtype=np.float32), (2, n, n))
        maps.append(tf.constant(np.stack([np.full((2, n, n), float(level), np.float32), columns], axis=-1)))
    pooled = M.PyramidROIAlign([7, 7])([tf.constant(boxes), tf.constant(meta)] + maps).numpy()
    assert pooled.shape == (2, 2, 7, 7, 2)
    np.testing.assert_allclose(pooled[..., 0].reshape(2, 2, -1).mean(-1), [[5, 2], [4, 3]])
    # bilinear sampling of the column ramp of P4 (64 wide) over x in [0, 0.21875]: x_j = j * 0.21875 * 63 / 6
    np.testing.assert_allclose(pooled[1, 0, 3, :, 1], np.arange(7) * side[4] * 63 / 6, rtol=1e-5)


# --- detection targets -------------------------------------------------------------------------------

def test_detection_target_layer_samples_assigns_and_pads():
    config = small_cpu_config(NUM_CLASSES=3, TRAIN_ROIS_PER_IMAGE=6, MINI_MASK_SHAPE=(8, 8))
    gt_box = np.array([0.1, 0.1, 0.5, 0.5], np.float32)
    proposals = np.array([[[0.1, 0.1, 0.5, 0.46],   # IoU 0.9 with the GT box: the positive
                           [0.6, 0.6, 0.9, 0.9], [0.0, 0.6, 0.3, 0.9], [0.6, 0.0, 0.9, 0.3],  # negatives
                           [0, 0, 0, 0]]], np.float32)  # padding
    gt_class_ids = np.array([[2, 0]], np.int32)
    gt_boxes = np.array([[gt_box, [0, 0, 0, 0]]], np.float32)
    gt_masks = np.zeros((1, 8, 8, 2), bool)
    gt_masks[0, :, :4, 0] = True  # left half of the mini mask
    rois, class_ids, deltas, masks = [t.numpy() for t in M.DetectionTargetLayer(config)(
        [tf.constant(proposals), tf.constant(gt_class_ids), tf.constant(gt_boxes), tf.constant(gt_masks)])]
    # 33% of 6 -> 1 positive; negatives = int(1 / 0.33) - 1 = 2; the rest zero padding
    assert rois.shape == (1, 6, 4) and masks.shape == (1, 6, 28, 28)
    np.testing.assert_allclose(rois[0, 0], proposals[0, 0])
    negatives = {tuple(np.round(r, 4)) for r in rois[0, 1:3]}
    assert negatives <= {tuple(np.round(p, 4)) for p in proposals[0, 1:4]} and len(negatives) == 2
    assert not rois[0, 3:].any()
    assert class_ids[0].tolist() == [2, 0, 0, 0, 0, 0]
    expected = utils.box_refinement(proposals[0, :1], gt_box[None]) / config.BBOX_STD_DEV
    np.testing.assert_allclose(deltas[0, 0], expected[0], rtol=1e-5, atol=1e-6)
    assert not deltas[0, 1:].any() and not masks[0, 1:].any()
    # the ROI covers x in [0, 0.9] of the GT box: samples at j * 0.9 * 7 / 27 fall in the left half below 3.5
    columns = (np.arange(28) * 0.9 * 7 / 27 < 3.5).astype(np.float32)
    np.testing.assert_array_equal(masks[0, 0], np.broadcast_to(columns, (28, 28)))


# --- detection layer ---------------------------------------------------------------------------------

def _detection_inputs():
    rois = np.array([[[0.1, 0.1, 0.4, 0.4], [0.12, 0.1, 0.42, 0.4], [0.5, 0.5, 0.8, 0.8],
                      [0.1, 0.1, 0.4, 0.4], [0.1, 0.1, 0.4, 0.4]]], np.float32)
    probs = np.array([[[0.05, 0.9, 0.05],    # class 1, best
                       [0.2, 0.6, 0.2],      # class 1, overlaps the best: NMS drops it
                       [0.25, 0.25, 0.5],    # class 2, low score
                       [0.8, 0.1, 0.1],      # background: dropped
                       [0.25, 0.2, 0.55]]],  # class 2 on the class-1 box: other class, kept
                     np.float32)
    deltas = np.zeros((1, 5, 3, 4), np.float32)
    deltas[0, 0, 1] = [1.0, 0, 0, 0]  # x BBOX_STD_DEV 0.1 x height 0.3 -> +0.03
    meta = M.compose_image_meta(0, (128, 128, 3), (128, 128, 3), (0, 0, 128, 128), 1, [1, 1, 1])[None]
    return [tf.constant(x) for x in (rois, probs, deltas, meta)]


def test_detection_layer_nms_background_and_order():
    config = small_cpu_config(NUM_CLASSES=3, DETECTION_MAX_INSTANCES=5, DETECTION_MIN_CONFIDENCE=0)
    out = M.DetectionLayer(config)(_detection_inputs()).numpy()[0]
    np.testing.assert_allclose(out[:3], [[0.13, 0.1, 0.43, 0.4, 1, 0.9],
                                         [0.1, 0.1, 0.4, 0.4, 2, 0.55],
                                         [0.5, 0.5, 0.8, 0.8, 2, 0.5]], atol=1e-6)
    assert not out[3:].any()


def test_detection_layer_min_confidence_filters_only_when_set():
    config = small_cpu_config(NUM_CLASSES=3, DETECTION_MAX_INSTANCES=5, DETECTION_MIN_CONFIDENCE=0.7)
    out = M.DetectionLayer(config)(_detection_inputs()).numpy()[0]
    assert out[0, 4:].tolist() == pytest.approx([1, 0.9]) and not out[1:].any()
    config = small_cpu_config(NUM_CLASSES=3, DETECTION_MAX_INSTANCES=2, DETECTION_MIN_CONFIDENCE=0)
    out = M.DetectionLayer(config)(_detection_inputs()).numpy()[0]
    assert out[:, 5].tolist() == pytest.approx([0.9, 0.55])  # top DETECTION_MAX_INSTANCES by score


# --- losses and RPN targets --------------------------------------------------------------------------

def test_losses_on_known_values():
    rpn_match = tf.constant([[[1], [-1], [0]]], tf.int32)
    logits = tf.zeros((1, 3, 2))
    assert float(M.rpn_class_loss_graph(rpn_match, logits)) == pytest.approx(np.log(2), rel=1e-6)
    target = tf.constant([[[0.5, 0, 0, 0], [0, 0, 0, 0]]])
    rpn_bbox = tf.constant([[[0, 0, 0, 0], [9, 9, 9, 9], [3, 0, 0, 0]]], tf.float32)
    # only the positive anchor counts: smooth-L1(0.5) = 0.125 on one of 4 coordinates
    assert float(M.rpn_bbox_loss_graph(target, rpn_match, rpn_bbox)) == pytest.approx(0.125 / 4)
    target_ids = tf.constant([[1, 0]])
    pred_bbox = tf.zeros((1, 2, 3, 4))
    assert float(M.mrcnn_bbox_loss_graph(tf.zeros((1, 2, 4)), target_ids, pred_bbox)) == 0.0
    masks = tf.ones((1, 2, 4, 4))
    pred = tf.concat([tf.fill((1, 2, 4, 4, 1), 0.1), tf.fill((1, 2, 4, 4, 1), 0.5), tf.fill((1, 2, 4, 4, 1), 0.1)], -1)
    assert float(M.mrcnn_mask_loss_graph(masks, target_ids, pred)) == pytest.approx(np.log(2), rel=1e-5)
    # every ROI background, no positives: bbox and mask losses are 0, not NaN
    assert float(M.mrcnn_mask_loss_graph(masks, tf.zeros((1, 2), tf.int32), pred)) == 0.0


def test_build_rpn_targets_labels_and_deltas():
    config = small_cpu_config(NUM_CLASSES=2, RPN_TRAIN_ANCHORS_PER_IMAGE=4)
    anchors = np.array([[0, 0, 10, 10], [0, 0, 9, 10], [20, 20, 30, 30], [40, 40, 50, 50], [0, 0, 5, 5],
                        [60, 60, 70, 70], [80, 80, 90, 90]], np.float32)
    gt_boxes = np.array([[0, 0, 10, 10]])
    match, bbox = M.build_rpn_targets((128, 128, 3), anchors, np.array([1]), gt_boxes, config,
                                      np.random.default_rng(0))
    assert match[:2].tolist() == [1, 1]          # IoU 1.0 and 0.9
    assert match[4] == 0                          # IoU 0.25 < 0.3 would be negative, but 2 of 4 slots remain
    assert (match == -1).sum() == 2 and (match == 0).sum() == 3
    np.testing.assert_allclose(bbox[1], utils.box_refinement(anchors[1:2], gt_boxes)[0] / config.RPN_BBOX_STD_DEV)
    assert not bbox[2:].any()


# --- Matterport names and shapes ---------------------------------------------------------------------

def _expected_resnet_names(blocks):
    names = ["conv1", "bn_conv1"]
    for stage, count in zip(range(2, 6), blocks):
        for i in range(count):
            block = chr(97 + i)
            for branch in ("2a", "2b", "2c") + (("1",) if i == 0 else ()):
                names += [f"res{stage}{block}_branch{branch}", f"bn{stage}{block}_branch{branch}"]
    return names


def test_resnet101_inference_model_matches_matterport_coco():
    config = Config(NAME="coco", NUM_CLASSES=81, IMAGES_PER_GPU=1)
    model = M.MaskRCNN("inference", config, "/nonexistent").keras_model
    # Matterport's published model summary of the COCO inference model
    assert model.count_params() == 64_158_584
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 64_047_096
    expected = _expected_resnet_names((3, 4, 23, 3))
    assert "res4w_branch2c" in expected and "res4x_branch2c" not in expected
    expected += [f"fpn_c{i}p{i}" for i in (5, 4, 3, 2)] + [f"fpn_p{i}" for i in (2, 3, 4, 5)] + ["rpn_model"]
    expected += ["mrcnn_class_conv1", "mrcnn_class_bn1", "mrcnn_class_conv2", "mrcnn_class_bn2",
                 "mrcnn_class_logits", "mrcnn_bbox_fc"]
    expected += [f"mrcnn_mask_{kind}{i}" for i in range(1, 5) for kind in ("conv", "bn")]
    expected += ["mrcnn_mask_deconv", "mrcnn_mask"]
    layers = {layer.name: layer for layer in model.layers}
    assert sorted(name for name, layer in layers.items() if layer_weight_entries(layer)) == sorted(expected)
    for name in ("ROI", "roi_align_classifier", "roi_align_mask", "mrcnn_detection", "mrcnn_bbox", "fpn_p6",
                 "input_image", "input_image_meta", "input_anchors"):
        assert name in layers and not layers[name].weights

    def shapes(name):
        return {n: tuple(v.shape) for n, v in layer_weight_entries(layers[name])}

    assert shapes("conv1") == {"conv1/kernel:0": (7, 7, 3, 64), "conv1/bias:0": (64,)}
    assert list(shapes("bn_conv1")) == [f"bn_conv1/{w}:0" for w in ("gamma", "beta", "moving_mean", "moving_variance")]
    assert shapes("res2a_branch1")["res2a_branch1/kernel:0"] == (1, 1, 64, 256)
    assert shapes("res4w_branch2c")["res4w_branch2c/kernel:0"] == (1, 1, 256, 1024)
    assert shapes("res5c_branch2c")["res5c_branch2c/kernel:0"] == (1, 1, 512, 2048)
    assert shapes("fpn_c5p5")["fpn_c5p5/kernel:0"] == (1, 1, 2048, 256)
    assert shapes("fpn_p2")["fpn_p2/kernel:0"] == (3, 3, 256, 256)
    assert shapes("rpn_model") == {
        "rpn_conv_shared/kernel:0": (3, 3, 256, 512), "rpn_conv_shared/bias:0": (512,),
        "rpn_class_raw/kernel:0": (1, 1, 512, 6), "rpn_class_raw/bias:0": (6,),
        "rpn_bbox_pred/kernel:0": (1, 1, 512, 12), "rpn_bbox_pred/bias:0": (12,)}
    assert shapes("mrcnn_class_conv1")["mrcnn_class_conv1/kernel:0"] == (7, 7, 256, 1024)
    assert shapes("mrcnn_class_conv2")["mrcnn_class_conv2/kernel:0"] == (1, 1, 1024, 1024)
    assert shapes("mrcnn_class_logits")["mrcnn_class_logits/kernel:0"] == (1024, 81)
    assert shapes("mrcnn_bbox_fc")["mrcnn_bbox_fc/kernel:0"] == (1024, 324)
    assert shapes("mrcnn_mask_conv1")["mrcnn_mask_conv1/kernel:0"] == (3, 3, 256, 256)
    assert shapes("mrcnn_mask_deconv")["mrcnn_mask_deconv/kernel:0"] == (2, 2, 256, 256)
    assert shapes("mrcnn_mask") == {"mrcnn_mask/kernel:0": (1, 1, 256, 81), "mrcnn_mask/bias:0": (81,)}
    assert shapes("mrcnn_class_bn1")["mrcnn_class_bn1/moving_variance:0"] == (1024,)


def test_resnet50_stage4_has_blocks_a_to_f():
    image = keras.Input((None, None, 3))
    outputs = M.resnet_graph(image, M.RESNET_BLOCKS["resnet50"])
    names = [layer.name for layer in keras.Model(image, outputs).layers if layer.weights]
    assert sorted(names) == sorted(_expected_resnet_names((3, 4, 6, 3)))
    assert outputs[-1].shape[-1] == 2048


# --- detect() and unmolding --------------------------------------------------------------------------

def test_detect_converts_gray_rgba_and_16_bit(inference_model):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (90, 70), dtype=np.uint8)
    rgba = rng.integers(0, 256, (64, 100, 4), dtype=np.uint8)
    deep = rng.integers(0, 65536, (128, 128, 3), dtype=np.uint16)
    results = inference_model.detect([gray, rgba, deep])
    for result, image in zip(results, (gray, rgba, deep)):
        n = len(result["class_ids"])
        assert result["rois"].shape == (n, 4) and result["scores"].shape == (n,)
        assert result["masks"].shape == image.shape[:2] + (n,) and result["masks"].dtype == bool
        assert n <= inference_model.config.DETECTION_MAX_INSTANCES
        assert np.all((result["class_ids"] >= 1) & (result["class_ids"] < 4))
    with pytest.raises(ValueError, match="BATCH_SIZE"):
        inference_model.detect([gray])
    with pytest.raises(ValueError, match="unsupported image shape"):
        inference_model.detect([gray, rgba, np.zeros((4, 4, 5))])


def test_to_rgb_pixels_conversions():
    assert M.to_rgb_pixels(np.full((2, 2), 7, np.uint8)).shape == (2, 2, 3)
    assert M.to_rgb_pixels(np.full((2, 2), 65535, np.uint16)).max() == 255
    np.testing.assert_array_equal(M.to_rgb_pixels(np.arange(16, dtype=np.uint8).reshape(2, 2, 4)),
                                  np.arange(16).reshape(2, 2, 4)[..., :3])


# --- the inference mask head skips padding rows --------------------------------------------------------

def _mask_head(skip_padding: bool, num_classes: int = 3) -> keras.Model:
    """A mask head on a 64 x 64 image's P2..P5 (8 channels), its convolutions 8 wide."""
    rois = keras.Input((None, 4))
    meta = keras.Input((12 + num_classes,))
    maps = [keras.Input((64 // 2 ** level, 64 // 2 ** level, 8)) for level in range(2, 6)]
    masks = M.build_fpn_mask_graph(rois, maps, meta, 14, num_classes, False, 8, skip_padding=skip_padding)
    return keras.Model([rois, meta] + maps, masks)


def test_mask_head_skipping_padding_matches_the_full_head_and_never_runs_on_zero_rows():
    keras.utils.set_random_seed(0)
    compact, full = _mask_head(skip_padding=True), _mask_head(skip_padding=False)
    for layer in compact.layers:
        if layer.weights:
            full.get_layer(layer.name).set_weights(layer.get_weights())
    rng = np.random.default_rng(0)
    meta = np.stack([M.compose_image_meta(0, (64, 64, 3), (64, 64, 3), (0, 0, 64, 64), 1, [1, 1, 1])] * 2)
    maps = [rng.normal(size=(2, 64 // 2 ** level, 64 // 2 ** level, 8)).astype(np.float32) for level in range(2, 6)]
    rois = np.zeros((2, 4, 4), np.float32)
    rois[0, :2] = [[0.1, 0.1, 0.6, 0.5], [0.3, 0.2, 0.9, 0.9]]
    rois[1, 0] = [0.0, 0.5, 0.4, 1.0]
    real = np.any(rois, axis=-1)
    expected = full([rois, meta] + maps).numpy()
    # the boxes' masks differ far beyond the tolerance below: a row put in the wrong place would show
    assert min(np.abs(expected[real][i] - expected[real][j]).max() for i, j in ((0, 1), (0, 2), (1, 2))) > 1e-3
    outputs = {"eager": compact([rois, meta] + maps).numpy(),
               "predict": compact.predict([rois, meta] + maps, verbose=0)}
    for run, masks in outputs.items():
        assert masks.shape == (2, 4, 28, 28, 3), run
        np.testing.assert_allclose(masks[real], expected[real], atol=1e-5, err_msg=run)
        assert not masks[~real].any(), run
    # no box at all: the convolutions still get one (filler) row, and the output is zeros of full shape
    empty = np.zeros_like(rois)
    assert M.CompactRows()([tf.constant(maps[0][:, :4]), tf.constant(empty)]).shape == (1, 1, 16, 8)
    for masks in (compact([empty, meta] + maps).numpy(), compact.predict([empty, meta] + maps, verbose=0)):
        assert masks.shape == (2, 4, 28, 28, 3) and not masks.any()


def test_unmold_detections_maps_back_to_original_pixels(inference_model):
    # a 64 x 128 image padded into 128 x 128: window rows 32..96
    molded_shape, window = (128, 128, 3), (32, 0, 96, 128)
    box = utils.norm_boxes(np.array([[42, 20, 62, 60]]), molded_shape[:2])[0]
    detections = np.zeros((20, 6), np.float32)
    detections[0] = list(box) + [2, 0.8]
    masks = np.zeros((20, 28, 28, 4), np.float32)
    masks[0, :, :, 2] = 1.0
    result = inference_model.unmold_detections(detections, masks, (64, 128, 3), molded_shape, window)
    assert result["rois"].tolist() == [[10, 20, 30, 60]] and result["class_ids"].tolist() == [2]
    assert result["masks"].shape == (64, 128, 1) and result["masks"][10:30, 20:60].all()
    assert result["masks"].sum() == 20 * 40
    raw = inference_model.unmold_detections(detections, masks, (64, 128, 3), molded_shape, window, unmold_masks=False)
    assert raw["rois"].tolist() == [[10, 20, 30, 60]] and raw["class_ids"].tolist() == [2]
    assert raw["masks"].shape == (1, 28, 28) and raw["masks"].min() == 1.0



def test_unmold_detections_filters_zero_area_in_the_pixels_of_the_image_given_as_matterport(inference_model):
    """Matterport's unmold_detections (the copy UnMask vendored) drops zero-area boxes after mapping them to
    the image detect() was given. A box 0.006 inverted keeps 1 px in a 32 px image, 0 px on the 128 px
    canvas: the original's K, given the canvas, dropped it."""
    detections = np.zeros((20, 6), np.float32)
    detections[0] = [0.51, 0.1, 0.504, 0.6, 2, 0.9]
    masks = np.ones((20, 28, 28, 4), np.float32)
    window = (0, 0, 128, 128)
    image = inference_model.unmold_detections(detections, masks, (32, 32, 3), (128, 128, 3), window)
    canvas = inference_model.unmold_detections(detections, masks, (128, 128, 3), (128, 128, 3), window)
    assert image["rois"].tolist() == [[16, 3, 17, 20]] and image["class_ids"].tolist() == [2]
    assert canvas["rois"].shape == (0, 4) and canvas["class_ids"].tolist() == []

# --- layer selection for training --------------------------------------------------------------------

def test_layer_presets_select_layers_inside_nested_models(tmp_path):
    model = M.MaskRCNN("training", small_cpu_config(NUM_CLASSES=4), str(tmp_path))
    rpn = model.keras_model.get_layer("rpn_model")

    def trainable():
        names = {layer.name for layer in model.keras_model.layers
                 if layer.weights and layer.trainable and layer is not rpn}
        return names | {layer.name for layer in rpn.layers if layer.weights and layer.trainable}

    model.set_trainable(M.LAYER_PRESETS["heads"], verbose=0)
    selected = trainable()
    assert {"rpn_conv_shared", "fpn_c5p5", "mrcnn_class_logits", "mrcnn_mask"} <= selected
    assert not any(name.startswith(("res", "bn", "conv1")) for name in selected)
    model.set_trainable(M.LAYER_PRESETS["4+"], verbose=0)
    selected = trainable()
    assert "res4a_branch2a" in selected and "bn5a_branch1" in selected and "res3a_branch2a" not in selected
    model.set_trainable(M.LAYER_PRESETS["all"], verbose=0)
    assert "conv1" in trainable() and "bn_conv1" in trainable()
    # regexes are full matches: "res4" alone selects nothing
    model.set_trainable("res4", verbose=0)
    assert not trainable()
