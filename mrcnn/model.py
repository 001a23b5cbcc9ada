"""Mask R-CNN in Keras 3 / TensorFlow 2, faithful to Matterport's architecture, layer names and API.

Sections: graph helpers; backbone (ResNet + FPN) and RPN; graph layers (proposals, ROIAlign,
detection targets, detections); heads; losses; data generator; the ``MaskRCNN`` class.
Layer names and weight shapes equal Matterport's, so its h5 checkpoints load by name
(see ``mrcnn.weights``). Inference runs as one compiled tf.function per batch; only molding
and unmolding run in Python.
"""
from __future__ import annotations

import datetime
import errno
import logging
import math
import os
import re
from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers as KL

from mrcnn import utils, weights
from mrcnn.config import Config

log = logging.getLogger(__name__)

LOSS_NAMES = ("rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss", "mrcnn_mask_loss")

# Matterport's `layers` presets of train(); regexes are full-matched against layer names.
_HEADS = r"(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)"
LAYER_PRESETS = {
    "heads": _HEADS,
    "3+": r"(res3.*)|(bn3.*)|(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|" + _HEADS,
    "4+": r"(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|" + _HEADS,
    "5+": r"(res5.*)|(bn5.*)|" + _HEADS,
    "all": ".*",
}

# Blocks per stage 2..5 of the faithful backbones.
RESNET_BLOCKS = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3)}


# ---------------------------------------------------------------------------------------------------
# Graph helpers (tensors, not layers)
# ---------------------------------------------------------------------------------------------------

def log2_graph(x: tf.Tensor) -> tf.Tensor:
    return tf.math.log(x) / math.log(2.0)


def apply_box_deltas_graph(boxes: tf.Tensor, deltas: tf.Tensor) -> tf.Tensor:
    """Boxes [..., (y1, x1, y2, x2)] refined by deltas [..., (dy, dx, log dh, log dw)]."""
    height = boxes[..., 2] - boxes[..., 0]
    width = boxes[..., 3] - boxes[..., 1]
    center_y = boxes[..., 0] + 0.5 * height + deltas[..., 0] * height
    center_x = boxes[..., 1] + 0.5 * width + deltas[..., 1] * width
    height = height * tf.exp(deltas[..., 2])
    width = width * tf.exp(deltas[..., 3])
    y1 = center_y - 0.5 * height
    x1 = center_x - 0.5 * width
    return tf.stack([y1, x1, y1 + height, x1 + width], axis=-1)


def clip_boxes_graph(boxes: tf.Tensor, window: tf.Tensor) -> tf.Tensor:
    """Clip boxes [..., 4] to a window (y1, x1, y2, x2)."""
    wy1, wx1, wy2, wx2 = tf.unstack(tf.cast(window, boxes.dtype), axis=-1)
    y1, x1, y2, x2 = tf.unstack(boxes, axis=-1)
    return tf.stack([tf.clip_by_value(y1, wy1, wy2), tf.clip_by_value(x1, wx1, wx2),
                     tf.clip_by_value(y2, wy1, wy2), tf.clip_by_value(x2, wx1, wx2)], axis=-1)


def overlaps_graph(boxes1: tf.Tensor, boxes2: tf.Tensor) -> tf.Tensor:
    """IoU matrix [N1, N2] of two box sets."""
    b1 = boxes1[:, None, :]
    b2 = boxes2[None, :, :]
    y1 = tf.maximum(b1[..., 0], b2[..., 0])
    x1 = tf.maximum(b1[..., 1], b2[..., 1])
    y2 = tf.minimum(b1[..., 2], b2[..., 2])
    x2 = tf.minimum(b1[..., 3], b2[..., 3])
    intersection = tf.maximum(y2 - y1, 0.0) * tf.maximum(x2 - x1, 0.0)
    area1 = (b1[..., 2] - b1[..., 0]) * (b1[..., 3] - b1[..., 1])
    area2 = (b2[..., 2] - b2[..., 0]) * (b2[..., 3] - b2[..., 1])
    return intersection / (area1 + area2 - intersection)


def box_refinement_graph(box: tf.Tensor, gt_box: tf.Tensor) -> tf.Tensor:
    """Deltas [N, (dy, dx, log dh, log dw)] that turn ``box`` into ``gt_box``."""
    height = box[:, 2] - box[:, 0]
    width = box[:, 3] - box[:, 1]
    gt_height = gt_box[:, 2] - gt_box[:, 0]
    gt_width = gt_box[:, 3] - gt_box[:, 1]
    dy = (gt_box[:, 0] + 0.5 * gt_height - box[:, 0] - 0.5 * height) / height
    dx = (gt_box[:, 1] + 0.5 * gt_width - box[:, 1] - 0.5 * width) / width
    return tf.stack([dy, dx, tf.math.log(gt_height / height), tf.math.log(gt_width / width)], axis=1)


def non_padding_rows(boxes: tf.Tensor) -> tf.Tensor:
    """Bool mask over the last-but-one axis of `boxes` [..., 4]: True where a box is not all-zero padding."""
    return tf.reduce_any(tf.not_equal(boxes, 0.0), axis=-1)


def trim_zeros_graph(boxes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Drop all-zero padding rows; returns (boxes, bool mask of kept rows)."""
    non_zeros = non_padding_rows(boxes)
    return tf.boolean_mask(boxes, non_zeros), non_zeros


def norm_boxes_graph(boxes: tf.Tensor, shape: tf.Tensor) -> tf.Tensor:
    """Pixel boxes -> normalized: (b - [0, 0, 1, 1]) / [h-1, w-1, h-1, w-1]."""
    h, w = tf.unstack(tf.cast(shape, tf.float32))
    scale = tf.stack([h, w, h, w]) - 1.0
    return (boxes - tf.constant([0.0, 0.0, 1.0, 1.0])) / scale


def parse_image_meta_graph(meta: tf.Tensor) -> dict[str, tf.Tensor]:
    """Split image_meta [B, META] into its named fields (see compose_image_meta)."""
    return {
        "image_id": meta[:, 0],
        "original_image_shape": meta[:, 1:4],
        "image_shape": meta[:, 4:7],
        "window": meta[:, 7:11],
        "scale": meta[:, 11],
        "active_class_ids": meta[:, 12:],
    }


def compose_image_meta(image_id: int, original_image_shape: Sequence[int], image_shape: Sequence[int],
                       window: Sequence[int], scale: float, active_class_ids: Sequence[int]) -> np.ndarray:
    """[image_id, original_shape(3), image_shape(3), window(4), scale, active_class_ids(NC)]."""
    return np.array([image_id] + list(original_image_shape) + list(image_shape) + list(window)
                    + [scale] + list(active_class_ids), dtype=np.float32)


def parse_image_meta(meta: np.ndarray) -> dict[str, np.ndarray]:
    """Numpy twin of parse_image_meta_graph for metas [B, META]."""
    return {
        "image_id": meta[:, 0].astype(np.int32),
        "original_image_shape": meta[:, 1:4].astype(np.int32),
        "image_shape": meta[:, 4:7].astype(np.int32),
        "window": meta[:, 7:11].astype(np.int32),
        "scale": meta[:, 11].astype(np.float32),
        "active_class_ids": meta[:, 12:].astype(np.int32),
    }


def smooth_l1_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    diff = tf.abs(y_true - y_pred)
    less_than_one = tf.cast(diff < 1.0, tf.float32)
    return less_than_one * 0.5 * diff ** 2 + (1.0 - less_than_one) * (diff - 0.5)


# ---------------------------------------------------------------------------------------------------
# Building blocks: BatchNorm with a fixed mode, a reshaping TimeDistributed, a graph Lambda
# ---------------------------------------------------------------------------------------------------

class BatchNorm(KL.BatchNormalization):
    """BatchNormalization whose mode follows config.TRAIN_BN.

    train_bn False freezes the statistics (inference mode) whatever the model's training flag; a
    Keras 3 functional model would otherwise override a training=False given at graph-build time.
    """

    def __init__(self, *args: Any, train_bn: bool | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.train_bn = train_bn

    def call(self, inputs, training=None, mask=None):
        if self.train_bn is False:
            training = False
        return super().call(inputs, training=training, mask=mask)

    def get_config(self) -> dict:
        return {**super().get_config(), "train_bn": self.train_bn}


class TimeDistributed(KL.Layer):
    """Apply ``layer`` to every ROI of [B, N, ...] by folding N into the batch axis.

    Same weights as Keras' TimeDistributed (the h5 layout only sees the wrapper's name), but one
    batched op instead of Keras 3's per-timestep loop or vectorized_map.
    """

    def __init__(self, layer: KL.Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        self.layer.build((None,) + tuple(input_shape[2:]))

    def call(self, inputs, training=None):
        shape = tf.shape(inputs)
        flat = tf.reshape(inputs, tf.concat([[-1], shape[2:]], axis=0))
        if getattr(self.layer, "_call_has_training_arg", False):
            out = self.layer(flat, training=training)
        else:
            out = self.layer(flat)
        result = tf.reshape(out, tf.concat([shape[:2], tf.shape(out)[1:]], axis=0))
        result.set_shape(inputs.shape[:2] + tuple(out.shape[1:]))
        return result


class GraphLayer(KL.Layer):
    """A layer of dynamic-shape TensorFlow ops (NMS, boolean masks, map_fn) that XLA cannot compile:
    it opts the model out of jit_compile."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_jit = False


class GraphLambda(GraphLayer):
    """A named, weightless layer running a TensorFlow function (Matterport's KL.Lambda uses)."""

    def __init__(self, function: Callable, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.function = function

    def call(self, inputs):
        return self.function(inputs)


# ---------------------------------------------------------------------------------------------------
# Backbone: ResNet (Matterport layer names) + FPN
# ---------------------------------------------------------------------------------------------------

def _bottleneck(x, filters: Sequence[int], stage: int, block: str, strides: int, shortcut_conv: bool,
                train_bn: bool | None):
    """ResNet bottleneck block named res{stage}{block}_branch2a..2c / bn..., res{stage}{block}_out."""
    f1, f2, f3 = filters
    conv_name = f"res{stage}{block}_branch"
    bn_name = f"bn{stage}{block}_branch"
    y = KL.Conv2D(f1, (1, 1), strides=strides, name=conv_name + "2a", use_bias=True)(x)
    y = BatchNorm(name=bn_name + "2a", train_bn=train_bn)(y)
    y = KL.Activation("relu")(y)
    y = KL.Conv2D(f2, (3, 3), padding="same", name=conv_name + "2b", use_bias=True)(y)
    y = BatchNorm(name=bn_name + "2b", train_bn=train_bn)(y)
    y = KL.Activation("relu")(y)
    y = KL.Conv2D(f3, (1, 1), name=conv_name + "2c", use_bias=True)(y)
    y = BatchNorm(name=bn_name + "2c", train_bn=train_bn)(y)
    if shortcut_conv:
        x = KL.Conv2D(f3, (1, 1), strides=strides, name=conv_name + "1", use_bias=True)(x)
        x = BatchNorm(name=bn_name + "1", train_bn=train_bn)(x)
    y = KL.Add()([y, x])
    return KL.Activation("relu", name=f"res{stage}{block}_out")(y)


def resnet_graph(input_image, blocks: Sequence[int], width: int = 64, train_bn: bool | None = False):
    """ResNet with ``blocks`` bottlenecks in stages 2..5; returns [C1, C2, C3, C4, C5].

    width 64 with blocks (3, 4, 6, 3) / (3, 4, 23, 3) is Matterport's resnet50 / resnet101.
    """
    x = KL.ZeroPadding2D((3, 3))(input_image)
    x = KL.Conv2D(width, (7, 7), strides=(2, 2), name="conv1", use_bias=True)(x)
    x = BatchNorm(name="bn_conv1", train_bn=train_bn)(x)
    x = KL.Activation("relu")(x)
    outputs = [KL.MaxPooling2D((3, 3), strides=(2, 2), padding="same")(x)]
    x = outputs[0]
    for stage, count in zip(range(2, 6), blocks):
        base = width * 2 ** (stage - 2)
        filters = (base, base, base * 4)
        for i in range(count):
            block = "a" if i == 0 else chr(97 + i)
            strides = (1 if stage == 2 else 2) if i == 0 else 1
            x = _bottleneck(x, filters, stage, block, strides, i == 0, train_bn)
        outputs.append(x)
    return outputs


def backbone_graph(input_image, config: Config):
    """[C1..C5] of config.BACKBONE (a name or Matterport's callable backbone)."""
    train_bn = config.TRAIN_BN
    if callable(config.BACKBONE):
        return config.BACKBONE(input_image, stage5=True, train_bn=train_bn)
    if config.BACKBONE in RESNET_BLOCKS:
        return resnet_graph(input_image, RESNET_BLOCKS[config.BACKBONE], 64, train_bn)
    if config.BACKBONE == "small":
        return resnet_graph(input_image, config.SMALL_BACKBONE_BLOCKS, config.SMALL_BACKBONE_WIDTH, train_bn)
    raise ValueError(f"unknown BACKBONE {config.BACKBONE!r}; use resnet50, resnet101, small or a callable")


def fpn_graph(feature_maps: Sequence, size: int) -> list:
    """Feature pyramid [P2, P3, P4, P5, P6] from [C2, C3, C4, C5] (Matterport's fpn_* names)."""
    c2, c3, c4, c5 = feature_maps
    p5 = KL.Conv2D(size, (1, 1), name="fpn_c5p5")(c5)
    p4 = KL.Add(name="fpn_p4add")([KL.UpSampling2D(size=(2, 2), name="fpn_p5upsampled")(p5),
                                   KL.Conv2D(size, (1, 1), name="fpn_c4p4")(c4)])
    p3 = KL.Add(name="fpn_p3add")([KL.UpSampling2D(size=(2, 2), name="fpn_p4upsampled")(p4),
                                   KL.Conv2D(size, (1, 1), name="fpn_c3p3")(c3)])
    p2 = KL.Add(name="fpn_p2add")([KL.UpSampling2D(size=(2, 2), name="fpn_p3upsampled")(p3),
                                   KL.Conv2D(size, (1, 1), name="fpn_c2p2")(c2)])
    p2 = KL.Conv2D(size, (3, 3), padding="same", name="fpn_p2")(p2)
    p3 = KL.Conv2D(size, (3, 3), padding="same", name="fpn_p3")(p3)
    p4 = KL.Conv2D(size, (3, 3), padding="same", name="fpn_p4")(p4)
    p5 = KL.Conv2D(size, (3, 3), padding="same", name="fpn_p5")(p5)
    p6 = KL.MaxPooling2D(pool_size=(1, 1), strides=2, name="fpn_p6")(p5)
    return [p2, p3, p4, p5, p6]


def compute_backbone_shapes(config: Config, image_shape: Sequence[int]) -> np.ndarray:
    """[[h, w]] of each pyramid level: ceil(side / stride)."""
    if callable(config.BACKBONE):
        return np.asarray(config.COMPUTE_BACKBONE_SHAPE(image_shape))
    return np.array([[int(math.ceil(image_shape[0] / stride)), int(math.ceil(image_shape[1] / stride))]
                     for stride in config.BACKBONE_STRIDES])


def build_rpn_model(anchor_stride: int, anchors_per_location: int, depth: int,
                    conv_channels: int = 512) -> keras.Model:
    """The RPN shared over pyramid levels: nested model "rpn_model" -> [logits, probs, deltas]."""
    feature_map = KL.Input(shape=[None, None, depth], name="input_rpn_feature_map")
    shared = KL.Conv2D(conv_channels, (3, 3), padding="same", activation="relu", strides=anchor_stride,
                       name="rpn_conv_shared")(feature_map)
    x = KL.Conv2D(2 * anchors_per_location, (1, 1), padding="valid", activation="linear",
                  name="rpn_class_raw")(shared)
    rpn_class_logits = KL.Reshape((-1, 2))(x)
    rpn_probs = KL.Activation("softmax", name="rpn_class_xxx")(rpn_class_logits)
    x = KL.Conv2D(anchors_per_location * 4, (1, 1), padding="valid", activation="linear",
                  name="rpn_bbox_pred")(shared)
    rpn_bbox = KL.Reshape((-1, 4))(x)
    return keras.Model([feature_map], [rpn_class_logits, rpn_probs, rpn_bbox], name="rpn_model")


# ---------------------------------------------------------------------------------------------------
# Graph layers
# ---------------------------------------------------------------------------------------------------

class AnchorsLayer(KL.Layer):
    """The training graph's fixed normalized anchors [N, 4], broadcast over the batch ("anchors")."""

    def __init__(self, anchors: np.ndarray, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.anchors = np.asarray(anchors, dtype=np.float32)

    def call(self, image):
        anchors = tf.constant(self.anchors)
        return tf.broadcast_to(anchors[None], tf.concat([tf.shape(image)[:1], tf.shape(anchors)], 0))


class ProposalLayer(GraphLayer):
    """RPN outputs -> proposals [B, proposal_count, (y1, x1, y2, x2)] normalized, zero padded.

    Top PRE_NMS_LIMIT anchors by foreground score, deltas x RPN_BBOX_STD_DEV, clip to [0, 1], NMS.
    """

    def __init__(self, proposal_count: int, nms_threshold: float, config: Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.proposal_count = int(proposal_count)
        self.nms_threshold = float(nms_threshold)

    def call(self, inputs):
        scores = inputs[0][:, :, 1]
        deltas = inputs[1] * tf.constant(np.reshape(self.config.RPN_BBOX_STD_DEV, [1, 1, 4]), tf.float32)
        anchors = inputs[2]
        limit = tf.minimum(self.config.PRE_NMS_LIMIT, tf.shape(anchors)[1])
        scores, ix = tf.math.top_k(scores, limit, sorted=True)
        deltas = tf.gather(deltas, ix, batch_dims=1)
        anchors = tf.gather(anchors, ix, batch_dims=1)
        boxes = clip_boxes_graph(apply_box_deltas_graph(anchors, deltas), tf.constant([0.0, 0.0, 1.0, 1.0]))

        def nms(args):
            image_boxes, image_scores = args
            keep = tf.image.non_max_suppression(image_boxes, image_scores, self.proposal_count,
                                                self.nms_threshold)
            proposals = tf.gather(image_boxes, keep)
            padding = self.proposal_count - tf.shape(proposals)[0]
            return tf.pad(proposals, [(0, padding), (0, 0)])

        return tf.map_fn(nms, (boxes, scores),
                         fn_output_signature=tf.TensorSpec([self.proposal_count, 4], tf.float32))


class PyramidROIAlign(GraphLayer):
    """ROIAlign on the pyramid: inputs [boxes [B, N, 4] normalized, image_meta, P2, P3, P4, P5].

    Each box goes to level clip(4 + round(log2(sqrt(h*w) / (224 / sqrt(image_area)))), 2, 5) and is
    bilinearly cropped and resized to pool_shape; output [B, N, ph, pw, C] in box order.
    """

    def __init__(self, pool_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_shape = tuple(pool_shape)

    def call(self, inputs):
        boxes, image_meta, feature_maps = inputs[0], inputs[1], inputs[2:]
        y1, x1, y2, x2 = tf.split(boxes, 4, axis=2)
        h, w = y2 - y1, x2 - x1
        image_shape = parse_image_meta_graph(image_meta)["image_shape"][0]
        image_area = tf.cast(image_shape[0] * image_shape[1], tf.float32)
        roi_level = log2_graph(tf.sqrt(h * w) / (224.0 / tf.sqrt(image_area)))
        roi_level = tf.minimum(5, tf.maximum(2, 4 + tf.cast(tf.round(roi_level), tf.int32)))
        roi_level = tf.squeeze(roi_level, 2)

        pooled, box_to_level = [], []
        for i, level in enumerate(range(2, 6)):
            ix = tf.where(tf.equal(roi_level, level))
            level_boxes = tf.stop_gradient(tf.gather_nd(boxes, ix))
            box_indices = tf.stop_gradient(tf.cast(ix[:, 0], tf.int32))
            box_to_level.append(ix)
            pooled.append(tf.image.crop_and_resize(feature_maps[i], level_boxes, box_indices,
                                                   self.pool_shape, method="bilinear"))
        pooled = tf.concat(pooled, axis=0)
        box_to_level = tf.cast(tf.concat(box_to_level, axis=0), tf.int32)
        # Restore the original (batch, box) order.
        order = tf.argsort(box_to_level[:, 0] * tf.shape(boxes)[1] + box_to_level[:, 1])
        pooled = tf.gather(pooled, order)
        shape = tf.concat([tf.shape(boxes)[:2], tf.shape(pooled)[1:]], axis=0)
        pooled = tf.reshape(pooled, shape)
        pooled.set_shape(boxes.shape[:2] + self.pool_shape + (feature_maps[0].shape[-1],))
        return pooled


def detection_targets_graph(proposals, gt_class_ids, gt_boxes, gt_masks, config: Config):
    """One image's head targets: (rois, class_ids, deltas, masks), TRAIN_ROIS_PER_IMAGE rows each.

    ROI_POSITIVE_RATIO of the rows are proposals with IoU >= 0.5 to a GT box (at most), the rest
    negatives (IoU < 0.5, not on a crowd box); crowd boxes have negative class ids.
    """
    proposals, _ = trim_zeros_graph(proposals)
    gt_boxes, non_zeros = trim_zeros_graph(gt_boxes)
    gt_class_ids = tf.boolean_mask(gt_class_ids, non_zeros)
    gt_masks = tf.gather(gt_masks, tf.where(non_zeros)[:, 0], axis=2)

    crowd_ix = tf.where(gt_class_ids < 0)[:, 0]
    non_crowd_ix = tf.where(gt_class_ids > 0)[:, 0]
    crowd_boxes = tf.gather(gt_boxes, crowd_ix)
    gt_class_ids = tf.gather(gt_class_ids, non_crowd_ix)
    gt_boxes = tf.gather(gt_boxes, non_crowd_ix)
    gt_masks = tf.gather(gt_masks, non_crowd_ix, axis=2)

    overlaps = overlaps_graph(proposals, gt_boxes)
    crowd_iou_max = tf.reduce_max(overlaps_graph(proposals, crowd_boxes), axis=1)
    no_crowd_bool = crowd_iou_max < 0.001
    roi_iou_max = tf.reduce_max(overlaps, axis=1)
    positive_indices = tf.where(roi_iou_max >= 0.5)[:, 0]
    negative_indices = tf.where(tf.logical_and(roi_iou_max < 0.5, no_crowd_bool))[:, 0]

    positive_count = int(config.TRAIN_ROIS_PER_IMAGE * config.ROI_POSITIVE_RATIO)
    positive_indices = tf.random.shuffle(positive_indices)[:positive_count]
    positive_count = tf.shape(positive_indices)[0]
    r = 1.0 / config.ROI_POSITIVE_RATIO
    negative_count = tf.cast(r * tf.cast(positive_count, tf.float32), tf.int32) - positive_count
    negative_indices = tf.random.shuffle(negative_indices)[:negative_count]
    positive_rois = tf.gather(proposals, positive_indices)
    negative_rois = tf.gather(proposals, negative_indices)

    positive_overlaps = tf.gather(overlaps, positive_indices)
    roi_gt_box_assignment = tf.cond(
        tf.shape(positive_overlaps)[1] > 0,
        lambda: tf.argmax(positive_overlaps, axis=1),
        lambda: tf.zeros([0], tf.int64))
    roi_gt_boxes = tf.gather(gt_boxes, roi_gt_box_assignment)
    roi_gt_class_ids = tf.gather(gt_class_ids, roi_gt_box_assignment)
    deltas = box_refinement_graph(positive_rois, roi_gt_boxes)
    deltas /= tf.constant(config.BBOX_STD_DEV, tf.float32)

    transposed_masks = tf.expand_dims(tf.transpose(gt_masks, [2, 0, 1]), -1)
    roi_masks = tf.gather(transposed_masks, roi_gt_box_assignment)
    boxes = positive_rois
    if config.USE_MINI_MASK:
        # Mini masks cover their GT box only: express the ROIs in GT-box coordinates.
        y1, x1, y2, x2 = tf.split(positive_rois, 4, axis=1)
        gt_y1, gt_x1, gt_y2, gt_x2 = tf.split(roi_gt_boxes, 4, axis=1)
        gt_h = gt_y2 - gt_y1
        gt_w = gt_x2 - gt_x1
        boxes = tf.concat([(y1 - gt_y1) / gt_h, (x1 - gt_x1) / gt_w,
                           (y2 - gt_y1) / gt_h, (x2 - gt_x1) / gt_w], axis=1)
    box_ids = tf.range(0, tf.shape(roi_masks)[0])
    masks = tf.image.crop_and_resize(tf.cast(roi_masks, tf.float32), boxes, box_ids, config.MASK_SHAPE)
    masks = tf.round(tf.squeeze(masks, axis=3))

    rois = tf.concat([positive_rois, negative_rois], axis=0)
    n = tf.shape(negative_rois)[0]
    p = tf.maximum(config.TRAIN_ROIS_PER_IMAGE - tf.shape(rois)[0], 0)
    rois = tf.pad(rois, [(0, p), (0, 0)])
    roi_gt_class_ids = tf.pad(roi_gt_class_ids, [(0, n + p)])
    deltas = tf.pad(deltas, [(0, n + p), (0, 0)])
    masks = tf.pad(masks, [[0, n + p], (0, 0), (0, 0)])
    return rois, roi_gt_class_ids, deltas, masks


class DetectionTargetLayer(GraphLayer):
    """[proposals, gt_class_ids, gt_boxes (normalized), gt_masks] -> per-ROI head targets."""

    def __init__(self, config: Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def call(self, inputs):
        proposals, gt_class_ids, gt_boxes, gt_masks = inputs
        n = self.config.TRAIN_ROIS_PER_IMAGE
        mask_h, mask_w = self.config.MASK_SHAPE
        signature = (tf.TensorSpec([n, 4], tf.float32), tf.TensorSpec([n], tf.int32),
                     tf.TensorSpec([n, 4], tf.float32), tf.TensorSpec([n, mask_h, mask_w], tf.float32))
        return list(tf.map_fn(
            lambda x: detection_targets_graph(*x, self.config),
            (proposals, tf.cast(gt_class_ids, tf.int32), gt_boxes, gt_masks),
            fn_output_signature=signature))


def refine_detections_graph(rois, probs, deltas, window, config: Config) -> tf.Tensor:
    """One image's detections [DETECTION_MAX_INSTANCES, (y1, x1, y2, x2, class_id, score)].

    Per-class NMS is done as one NMS over boxes shifted apart by class (identical result).
    The score filter runs only when DETECTION_MIN_CONFIDENCE is truthy.
    """
    class_ids = tf.argmax(probs, axis=1, output_type=tf.int32)
    indices = tf.stack([tf.range(tf.shape(probs)[0]), class_ids], axis=1)
    class_scores = tf.gather_nd(probs, indices)
    deltas_specific = tf.gather_nd(deltas, indices)
    refined_rois = apply_box_deltas_graph(rois, deltas_specific * tf.constant(config.BBOX_STD_DEV, tf.float32))
    refined_rois = clip_boxes_graph(refined_rois, window)

    keep = class_ids > 0
    if config.DETECTION_MIN_CONFIDENCE:
        keep = tf.logical_and(keep, class_scores >= config.DETECTION_MIN_CONFIDENCE)
    keep = tf.where(keep)[:, 0]
    boxes = tf.gather(refined_rois, keep)
    scores = tf.gather(class_scores, keep)
    ids = tf.gather(class_ids, keep)
    shifted = boxes + 2.0 * tf.cast(ids, tf.float32)[:, None]
    nms_keep = tf.image.non_max_suppression(shifted, scores, config.DETECTION_MAX_INSTANCES,
                                            config.DETECTION_NMS_THRESHOLD)
    detections = tf.concat([tf.gather(boxes, nms_keep),
                            tf.cast(tf.gather(ids, nms_keep), tf.float32)[:, None],
                            tf.gather(scores, nms_keep)[:, None]], axis=1)
    gap = config.DETECTION_MAX_INSTANCES - tf.shape(detections)[0]
    return tf.pad(detections, [(0, gap), (0, 0)])


class DetectionLayer(GraphLayer):
    """[rois, mrcnn_class, mrcnn_bbox, image_meta] -> detections [B, MAX, 6], normalized boxes."""

    def __init__(self, config: Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def call(self, inputs):
        rois, mrcnn_class, mrcnn_bbox, image_meta = inputs
        meta = parse_image_meta_graph(image_meta)
        windows = norm_boxes_graph(meta["window"], meta["image_shape"][0, :2])
        signature = tf.TensorSpec([self.config.DETECTION_MAX_INSTANCES, 6], tf.float32)
        return tf.map_fn(lambda x: refine_detections_graph(*x, self.config),
                         (rois, mrcnn_class, mrcnn_bbox, windows), fn_output_signature=signature)


# ---------------------------------------------------------------------------------------------------
# Heads
# ---------------------------------------------------------------------------------------------------

def fpn_classifier_graph(rois, feature_maps, image_meta, pool_size: int, num_classes: int,
                         train_bn: bool | None, fc_layers_size: int = 1024):
    """Classifier and box-regression head -> (class logits, class probs, deltas [B, N, NC, 4])."""
    x = PyramidROIAlign([pool_size, pool_size], name="roi_align_classifier")([rois, image_meta] + feature_maps)
    x = TimeDistributed(KL.Conv2D(fc_layers_size, (pool_size, pool_size), padding="valid"),
                        name="mrcnn_class_conv1")(x)
    x = TimeDistributed(BatchNorm(train_bn=train_bn), name="mrcnn_class_bn1")(x)
    x = KL.Activation("relu")(x)
    x = TimeDistributed(KL.Conv2D(fc_layers_size, (1, 1)), name="mrcnn_class_conv2")(x)
    x = TimeDistributed(BatchNorm(train_bn=train_bn), name="mrcnn_class_bn2")(x)
    x = KL.Activation("relu")(x)
    shared = GraphLambda(lambda t: tf.squeeze(t, [2, 3]), name="pool_squeeze")(x)
    mrcnn_class_logits = TimeDistributed(KL.Dense(num_classes), name="mrcnn_class_logits")(shared)
    mrcnn_probs = KL.Activation("softmax", name="mrcnn_class")(mrcnn_class_logits)
    x = TimeDistributed(KL.Dense(num_classes * 4, activation="linear"), name="mrcnn_bbox_fc")(shared)
    mrcnn_bbox = KL.Reshape((-1, num_classes, 4), name="mrcnn_bbox")(x)
    return mrcnn_class_logits, mrcnn_probs, mrcnn_bbox


class CompactRows(GraphLayer):
    """[x [B, N, ...], boxes [B, N, 4]] -> the rows of non-padding (non-zero) boxes as [1, max(K, 1), ...].

    With no non-padding box at all it returns one zero row, never an empty batch: TF's oneDNN CPU
    convolution gives an empty batch the input's channel count (a wrong shape, or an eager error at
    the bias add). ExpandRows drops that filler row.
    """

    def call(self, inputs):
        x, boxes = inputs
        rows = tf.boolean_mask(x, non_padding_rows(boxes))
        filler = tf.maximum(1 - tf.shape(rows)[0], 0)
        return tf.pad(rows, [[0, filler]] + [[0, 0]] * (rows.shape.rank - 1))[None]


class ExpandRows(GraphLayer):
    """Inverse of CompactRows: [y [1, max(K, 1), ...], boxes [B, N, 4]] -> [B, N, ...], zeros at padding."""

    def call(self, inputs):
        y, boxes = inputs
        indices = tf.where(non_padding_rows(boxes))
        shape = tf.concat([tf.shape(boxes, out_type=tf.int64)[:2], tf.shape(y, out_type=tf.int64)[2:]], 0)
        out = tf.scatter_nd(indices, y[0, :tf.shape(indices)[0]], shape)
        out.set_shape(boxes.shape[:2] + tuple(y.shape[2:]))
        return out


def build_fpn_mask_graph(rois, feature_maps, image_meta, pool_size: int, num_classes: int,
                         train_bn: bool | None, channels: int = 256, skip_padding: bool = False):
    """Mask head -> per-class sigmoid masks [B, N, 2*pool, 2*pool, NC].

    skip_padding (inference): run the convolutions only on non-zero boxes (the real detections)
    and return zero masks for the padding rows, which unmolding never reads.
    """
    x = PyramidROIAlign([pool_size, pool_size], name="roi_align_mask")([rois, image_meta] + feature_maps)
    if skip_padding:
        x = CompactRows(name="mrcnn_mask_compact")([x, rois])
    for i in range(1, 5):
        x = TimeDistributed(KL.Conv2D(channels, (3, 3), padding="same"), name=f"mrcnn_mask_conv{i}")(x)
        x = TimeDistributed(BatchNorm(train_bn=train_bn), name=f"mrcnn_mask_bn{i}")(x)
        x = KL.Activation("relu")(x)
    x = TimeDistributed(KL.Conv2DTranspose(channels, (2, 2), strides=2, activation="relu"),
                        name="mrcnn_mask_deconv")(x)
    x = TimeDistributed(KL.Conv2D(num_classes, (1, 1), strides=1, activation="sigmoid"), name="mrcnn_mask")(x)
    if skip_padding:
        x = ExpandRows(name="mrcnn_mask_expand")([x, rois])
    return x


# ---------------------------------------------------------------------------------------------------
# Losses (graph functions, Matterport's definitions)
# ---------------------------------------------------------------------------------------------------

def rpn_class_loss_graph(rpn_match, rpn_class_logits):
    """Cross-entropy of anchor fg/bg over non-neutral anchors (rpn_match 1 / -1)."""
    rpn_match = tf.squeeze(rpn_match, -1)
    anchor_class = tf.cast(tf.equal(rpn_match, 1), tf.int32)
    indices = tf.where(tf.not_equal(rpn_match, 0))
    logits = tf.gather_nd(rpn_class_logits, indices)
    anchor_class = tf.gather_nd(anchor_class, indices)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=anchor_class, logits=logits)
    return tf.cond(tf.size(loss) > 0, lambda: tf.reduce_mean(loss), lambda: tf.constant(0.0))


def rpn_bbox_loss_graph(target_bbox, rpn_match, rpn_bbox):
    """Smooth-L1 of positive anchors' deltas; targets are packed at the start of each row."""
    rpn_match = tf.squeeze(rpn_match, -1)
    positive = tf.equal(rpn_match, 1)
    rpn_bbox = tf.boolean_mask(rpn_bbox, positive)
    counts = tf.reduce_sum(tf.cast(positive, tf.int32), axis=1)
    target_bbox = tf.boolean_mask(target_bbox, tf.sequence_mask(counts, tf.shape(target_bbox)[1]))
    loss = smooth_l1_loss(target_bbox, rpn_bbox)
    return tf.cond(tf.size(loss) > 0, lambda: tf.reduce_mean(loss), lambda: tf.constant(0.0))


def mrcnn_class_loss_graph(target_class_ids, pred_class_logits, active_class_ids):
    """Cross-entropy of ROI classes; predictions of classes inactive in the image's source are ignored."""
    target_class_ids = tf.cast(target_class_ids, tf.int64)
    pred_class_ids = tf.argmax(pred_class_logits, axis=2)
    pred_active = tf.gather(tf.cast(active_class_ids[0], tf.float32), pred_class_ids)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target_class_ids, logits=pred_class_logits)
    return tf.reduce_sum(loss * pred_active) / tf.reduce_sum(pred_active)


def mrcnn_bbox_loss_graph(target_bbox, target_class_ids, pred_bbox):
    """Smooth-L1 of positive ROIs' deltas of their true class."""
    target_class_ids = tf.reshape(target_class_ids, (-1,))
    target_bbox = tf.reshape(target_bbox, (-1, 4))
    pred_bbox = tf.reshape(pred_bbox, (-1, tf.shape(pred_bbox)[2], 4))
    positive_ix = tf.where(target_class_ids > 0)[:, 0]
    positive_class_ids = tf.cast(tf.gather(target_class_ids, positive_ix), tf.int64)
    indices = tf.stack([positive_ix, positive_class_ids], axis=1)
    target_bbox = tf.gather(target_bbox, positive_ix)
    pred_bbox = tf.gather_nd(pred_bbox, indices)
    loss = smooth_l1_loss(target_bbox, pred_bbox)
    return tf.cond(tf.size(loss) > 0, lambda: tf.reduce_mean(loss), lambda: tf.constant(0.0))


def mrcnn_mask_loss_graph(target_masks, target_class_ids, pred_masks):
    """Binary cross-entropy of positive ROIs' masks of their true class."""
    target_class_ids = tf.reshape(target_class_ids, (-1,))
    mask_shape = tf.shape(target_masks)
    target_masks = tf.reshape(target_masks, (-1, mask_shape[2], mask_shape[3]))
    pred_shape = tf.shape(pred_masks)
    pred_masks = tf.reshape(pred_masks, (-1, pred_shape[2], pred_shape[3], pred_shape[4]))
    pred_masks = tf.transpose(pred_masks, [0, 3, 1, 2])
    positive_ix = tf.where(target_class_ids > 0)[:, 0]
    positive_class_ids = tf.cast(tf.gather(target_class_ids, positive_ix), tf.int64)
    indices = tf.stack([positive_ix, positive_class_ids], axis=1)
    y_true = tf.gather(target_masks, positive_ix)
    y_pred = tf.clip_by_value(tf.gather_nd(pred_masks, indices), 1e-7, 1.0 - 1e-7)
    loss = -(y_true * tf.math.log(y_pred) + (1.0 - y_true) * tf.math.log(1.0 - y_pred))
    return tf.cond(tf.size(loss) > 0, lambda: tf.reduce_mean(loss), lambda: tf.constant(0.0))


def weight_decay_graph(variables: Sequence, weight_decay: float) -> tf.Tensor:
    """WEIGHT_DECAY * sum(w^2) / size(w) summed over weights, skipping BN gamma/beta."""
    terms = [weight_decay * tf.reduce_sum(tf.square(w)) / tf.cast(tf.size(w), tf.float32)
             for w in variables if w.name not in ("gamma", "beta")]
    return tf.add_n(terms) if terms else tf.constant(0.0)


# ---------------------------------------------------------------------------------------------------
# Data generator
# ---------------------------------------------------------------------------------------------------

def load_image_gt(dataset: utils.Dataset, config: Config, image_id: int, augmentation: Callable | None = None,
                  use_mini_mask: bool = False, rng: np.random.Generator | None = None):
    """Load, resize (and augment) one image and its instances for training.

    Returns (image, image_meta, class_ids [N], bbox [N, 4] pixels, mask [H, W, N] or mini masks).
    ``augmentation`` is any callable (image, masks, rng) -> (image, masks) that keeps the shapes,
    e.g. mrcnn.augment.HorizontalFlip(p=0.5); it runs after resizing, as in Matterport.
    """
    rng = rng if rng is not None else np.random.default_rng()
    image = dataset.load_image(image_id)
    mask, class_ids = dataset.load_mask(image_id)
    original_shape = image.shape
    image, window, scale, padding, crop = utils.resize_image(
        image, min_dim=config.IMAGE_MIN_DIM, min_scale=config.IMAGE_MIN_SCALE, max_dim=config.IMAGE_MAX_DIM,
        mode=config.IMAGE_RESIZE_MODE, rng=rng)
    if mask.shape[-1]:
        mask = utils.resize_mask(mask, scale, padding, crop)
    else:
        mask = np.zeros(image.shape[:2] + (0,), dtype=bool)
    if augmentation is not None:
        aug_image, aug_mask = augmentation(image, mask, rng)
        if aug_image.shape != image.shape or aug_mask.shape != mask.shape:
            raise ValueError(f"augmentation changed shapes: image {image.shape} -> {aug_image.shape}, "
                             f"masks {mask.shape} -> {aug_mask.shape}")
        image, mask = aug_image, aug_mask.astype(bool)
    # Instances can vanish after cropping or augmentation.
    keep = np.sum(mask, axis=(0, 1)) > 0
    mask, class_ids = mask[:, :, keep], np.asarray(class_ids)[keep]
    bbox = utils.extract_bboxes(mask)
    active_class_ids = np.zeros([dataset.num_classes], dtype=np.int32)
    active_class_ids[dataset.source_class_ids[dataset.image_info[image_id]["source"]]] = 1
    if use_mini_mask:
        mask = utils.minimize_mask(bbox, mask, config.MINI_MASK_SHAPE)
    image_meta = compose_image_meta(image_id, original_shape, image.shape, window, scale, active_class_ids)
    return image, image_meta, class_ids, bbox, mask


def build_rpn_targets(image_shape: Sequence[int], anchors: np.ndarray, gt_class_ids: np.ndarray,
                      gt_boxes: np.ndarray, config: Config, rng: np.random.Generator | None = None):
    """Anchor labels rpn_match [A] (1 fg, -1 bg, 0 neutral) and deltas [RPN_TRAIN_ANCHORS_PER_IMAGE, 4].

    Positive: IoU >= 0.7 or the best anchor of a GT box; negative: IoU < 0.3 and not on a crowd
    box; at most half of RPN_TRAIN_ANCHORS_PER_IMAGE positive, the rest filled with negatives.
    """
    rng = rng if rng is not None else np.random.default_rng()
    total = config.RPN_TRAIN_ANCHORS_PER_IMAGE
    rpn_match = np.zeros([anchors.shape[0]], dtype=np.int32)
    rpn_bbox = np.zeros((total, 4), dtype=np.float32)
    crowd = gt_class_ids < 0
    no_crowd_bool = np.ones([anchors.shape[0]], dtype=bool)
    if crowd.any():
        no_crowd_bool = utils.compute_overlaps(anchors, gt_boxes[crowd]).max(axis=1) < 0.001
        gt_class_ids, gt_boxes = gt_class_ids[~crowd], gt_boxes[~crowd]
    if gt_boxes.shape[0] == 0:
        rpn_match[no_crowd_bool] = -1
    else:
        overlaps = utils.compute_overlaps(anchors, gt_boxes)
        anchor_iou_argmax = np.argmax(overlaps, axis=1)
        anchor_iou_max = overlaps[np.arange(overlaps.shape[0]), anchor_iou_argmax]
        rpn_match[(anchor_iou_max < 0.3) & no_crowd_bool] = -1
        gt_iou_argmax = np.argwhere(overlaps == np.max(overlaps, axis=0))[:, 0]
        rpn_match[gt_iou_argmax] = 1
        rpn_match[anchor_iou_max >= 0.7] = 1
    ids = np.where(rpn_match == 1)[0]
    extra = len(ids) - total // 2
    if extra > 0:
        rpn_match[rng.choice(ids, extra, replace=False)] = 0
    ids = np.where(rpn_match == -1)[0]
    extra = len(ids) - (total - np.sum(rpn_match == 1))
    if extra > 0:
        rpn_match[rng.choice(ids, extra, replace=False)] = 0
    ids = np.where(rpn_match == 1)[0]
    if len(ids):
        deltas = utils.box_refinement(anchors[ids], gt_boxes[anchor_iou_argmax[ids]])
        rpn_bbox[:len(ids)] = deltas / np.asarray(config.RPN_BBOX_STD_DEV, dtype=np.float32)
    return rpn_match, rpn_bbox


class DataGenerator(keras.utils.PyDataset):
    """Training batches for MaskRCNN.train: ({input name: array},) with BATCH_SIZE images each.

    Images are visited in a seeded per-pass permutation (shuffle) or in order; images without
    instances are replaced by random others, as Matterport skips them. Reproducible for a given
    ``seed``: batch ``idx`` of epoch ``e`` always draws from the generator seeded (seed, e, idx).
    """

    MAX_DRAWS = 100  # tries to find an image with instances before giving up

    def __init__(self, dataset: utils.Dataset, config: Config, steps: int, shuffle: bool = True,
                 augmentation: Callable | None = None, no_augmentation_sources: Sequence[str] | None = None,
                 seed: int | None = None, first_epoch: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if dataset.num_classes != config.NUM_CLASSES:
            raise ValueError(f"dataset has {dataset.num_classes} classes (with BG), config.NUM_CLASSES is "
                             f"{config.NUM_CLASSES}")
        if len(dataset.image_ids) == 0:
            raise ValueError("dataset has no images; did you call prepare()?")
        self.dataset, self.config, self.steps = dataset, config, int(steps)
        self.shuffle, self.augmentation = shuffle, augmentation
        self.no_augmentation_sources = set(no_augmentation_sources or ())
        self.seed = int(np.random.SeedSequence().entropy % 2 ** 63) if seed is None else int(seed)
        self.epoch = first_epoch
        self.anchors = utils.generate_pyramid_anchors(
            config.RPN_ANCHOR_SCALES, config.RPN_ANCHOR_RATIOS, compute_backbone_shapes(config, config.IMAGE_SHAPE),
            config.BACKBONE_STRIDES, config.RPN_ANCHOR_STRIDE)

    def __len__(self) -> int:
        return self.steps

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def _image_id(self, position: int) -> int:
        ids = self.dataset.image_ids
        epoch_pass, k = divmod(position, len(ids))
        if self.shuffle:
            return int(np.random.default_rng([self.seed, epoch_pass]).permutation(ids)[k])
        return int(ids[k])

    def _load(self, position: int, rng: np.random.Generator):
        image_id = self._image_id(position)
        for _ in range(self.MAX_DRAWS):
            source = self.dataset.image_info[image_id]["source"]
            augmentation = None if source in self.no_augmentation_sources else self.augmentation
            sample = load_image_gt(self.dataset, self.config, image_id, augmentation=augmentation,
                                   use_mini_mask=self.config.USE_MINI_MASK, rng=rng)
            if np.any(sample[2] > 0):
                return sample
            image_id = int(rng.choice(self.dataset.image_ids))
        raise RuntimeError(f"no image with instances found in {self.MAX_DRAWS} draws; check the dataset's masks")

    def __getitem__(self, idx: int):
        config = self.config
        rng = np.random.default_rng([self.seed, self.epoch, idx])
        batch: dict[str, list] = {name: [] for name in TRAINING_INPUTS}
        for b in range(config.BATCH_SIZE):
            position = (self.epoch * self.steps + idx) * config.BATCH_SIZE + b
            image, image_meta, class_ids, boxes, masks = self._load(position, rng)
            rpn_match, rpn_bbox = build_rpn_targets(image.shape, self.anchors, class_ids, boxes, config, rng)
            if boxes.shape[0] > config.MAX_GT_INSTANCES:
                ids = rng.choice(np.arange(boxes.shape[0]), config.MAX_GT_INSTANCES, replace=False)
                class_ids, boxes, masks = class_ids[ids], boxes[ids], masks[:, :, ids]
            pad = config.MAX_GT_INSTANCES - boxes.shape[0]
            batch["input_image"].append(utils.mold_image(image.astype(np.float32), config))
            batch["input_image_meta"].append(image_meta)
            batch["input_rpn_match"].append(rpn_match[:, None])
            batch["input_rpn_bbox"].append(rpn_bbox)
            batch["input_gt_class_ids"].append(np.pad(class_ids.astype(np.int32), (0, pad)))
            batch["input_gt_boxes"].append(np.pad(boxes.astype(np.float32), [(0, pad), (0, 0)]))
            batch["input_gt_masks"].append(np.pad(masks.astype(bool), [(0, 0), (0, 0), (0, pad)]))
        return ({name: np.stack(values) for name, values in batch.items()},)


TRAINING_INPUTS = ("input_image", "input_image_meta", "input_rpn_match", "input_rpn_bbox",
                   "input_gt_class_ids", "input_gt_boxes", "input_gt_masks")


# ---------------------------------------------------------------------------------------------------
# Training model and callbacks
# ---------------------------------------------------------------------------------------------------

class MaskRCNNTrainingModel(keras.Model):
    """The functional training graph plus Matterport's loss: sum of the five loss outputs x
    LOSS_WEIGHTS + L2 weight decay, recomputed each step (so repeated train() calls never stack)."""

    def __init__(self, inputs, outputs, config: Config, name: str = "mask_rcnn") -> None:
        super().__init__(inputs=inputs, outputs=outputs, name=name)
        self.mrcnn_loss_weights = [float(config.LOSS_WEIGHTS.get(n, 1.0)) for n in LOSS_NAMES]
        self.mrcnn_weight_decay = float(config.WEIGHT_DECAY)
        self.trackers = [keras.metrics.Mean(name=n) for n in ("loss",) + LOSS_NAMES]

    @property
    def metrics(self) -> list:
        return list(self.trackers)

    def _loss_terms(self, data, training: bool):
        inputs = data[0] if isinstance(data, (tuple, list)) else data
        outputs = self(inputs, training=training)
        losses = [loss * weight for loss, weight in zip(outputs[-len(LOSS_NAMES):], self.mrcnn_loss_weights)]
        total = tf.add_n(losses) + weight_decay_graph(self.trainable_weights, self.mrcnn_weight_decay)
        return total, losses

    def _report(self, total, losses) -> dict:
        for tracker, value in zip(self.trackers, [total] + losses):
            tracker.update_state(value)
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            total, losses = self._loss_terms(data, training=True)
            # Gradients are summed over replicas under MirroredStrategy.
            scaled = total / tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._report(total, losses)

    def test_step(self, data):
        total, losses = self._loss_terms(data, training=False)
        return self._report(total, losses)


class MatterportCheckpoint(keras.callbacks.Callback):
    """Save the weights after every epoch in Matterport's h5 layout at path_template.format(epoch=n)."""

    def __init__(self, path_template: str) -> None:
        super().__init__()
        self.path_template = path_template

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        weights.save_weights(self.model, self.path_template.format(epoch=epoch + 1))


# ---------------------------------------------------------------------------------------------------
# Images in, detections out
# ---------------------------------------------------------------------------------------------------

def to_rgb_pixels(image: np.ndarray) -> np.ndarray:
    """Any common image array -> RGB [H, W, 3] in Matterport's 0-255 range.

    Gray and gray+alpha are expanded, alpha is dropped, uint16 is scaled by 1/257, other integer
    types are clipped to 0..255, bool becomes 0/255; float images are taken as 0-255 values.
    """
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype == np.uint16:
        image = np.around(image / 257.0).astype(np.uint8)
    elif image.dtype.kind in "ui" and image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[-1] not in (1, 2, 3, 4) or min(image.shape[:2]) == 0:
        raise ValueError(f"unsupported image shape {image.shape}; expected [H, W], [H, W, 1|2|3|4]")
    if image.shape[-1] in (1, 2):
        image = np.repeat(image[:, :, :1], 3, axis=2)
    return image[:, :, :3]


def log_array(text: str, array: np.ndarray | None = None) -> None:
    """Matterport's verbose print: a name with the array's shape, range and dtype."""
    if array is not None:
        array = np.asarray(array)
        text = (f"{text:25s} shape: {str(array.shape):20s} min: {array.min() if array.size else 0:10.5f}  "
                f"max: {array.max() if array.size else 0:10.5f}  {array.dtype}")
    print(text)


def _distribution_strategy(config: Config) -> tf.distribute.Strategy:
    """MirroredStrategy over the first GPU_COUNT GPUs when GPU_COUNT > 1 and enough are visible."""
    gpus = tf.config.list_logical_devices("GPU")
    if config.GPU_COUNT > 1:
        if len(gpus) >= config.GPU_COUNT:
            return tf.distribute.MirroredStrategy([gpu.name for gpu in gpus[:config.GPU_COUNT]])
        log.warning("GPU_COUNT=%d but %d GPU(s) visible: running on one device", config.GPU_COUNT, len(gpus))
    return tf.distribute.get_strategy()


# ---------------------------------------------------------------------------------------------------
# MaskRCNN
# ---------------------------------------------------------------------------------------------------

class MaskRCNN:
    """Matterport's MaskRCNN: ``MaskRCNN(mode="training"|"inference", config, model_dir)``.

    ``keras_model`` is the Keras model; train / detect / load_weights / find_last as in Matterport.
    """

    def __init__(self, mode: str, config: Config, model_dir: str) -> None:
        if mode not in ("training", "inference"):
            raise ValueError(f"mode must be 'training' or 'inference', got {mode!r}")
        self.mode = mode
        self.config = config
        self.model_dir = model_dir
        self._anchor_cache: dict[tuple, np.ndarray] = {}
        self._predictors: dict[bool, Callable] = {}
        self.strategy = _distribution_strategy(config)
        self.set_log_dir()
        with self.strategy.scope():
            self.keras_model = self.build(mode=mode, config=config)

    # -- graph ----------------------------------------------------------------------------------------

    def build(self, mode: str, config: Config) -> keras.Model:
        """Build the training or inference graph."""
        h, w = config.IMAGE_SHAPE[:2]
        if h % 64 or w % 64:
            raise ValueError("Image size must be dividable by 2 at least 6 times to avoid fractions when "
                             "downscaling and upscaling. For example, use 256, 320, 384, 448, 512, ... etc.")
        input_image = KL.Input(shape=[None, None, config.IMAGE_CHANNEL_COUNT], name="input_image")
        input_image_meta = KL.Input(shape=[config.IMAGE_META_SIZE], name="input_image_meta")
        if mode == "training":
            input_rpn_match = KL.Input(shape=[None, 1], name="input_rpn_match", dtype="int32")
            input_rpn_bbox = KL.Input(shape=[None, 4], name="input_rpn_bbox", dtype="float32")
            input_gt_class_ids = KL.Input(shape=[None], name="input_gt_class_ids", dtype="int32")
            input_gt_boxes = KL.Input(shape=[None, 4], name="input_gt_boxes", dtype="float32")
            gt_boxes = GraphLambda(lambda x: norm_boxes_graph(x[0], tf.shape(x[1])[1:3]),
                                   name="norm_gt_boxes")([input_gt_boxes, input_image])
            mask_shape = config.MINI_MASK_SHAPE if config.USE_MINI_MASK else config.IMAGE_SHAPE[:2]
            input_gt_masks = KL.Input(shape=[int(mask_shape[0]), int(mask_shape[1]), None],
                                      name="input_gt_masks", dtype="bool")
        else:
            input_anchors = KL.Input(shape=[None, 4], name="input_anchors")

        _, c2, c3, c4, c5 = backbone_graph(input_image, config)
        rpn_feature_maps = fpn_graph([c2, c3, c4, c5], config.TOP_DOWN_PYRAMID_SIZE)
        mrcnn_feature_maps = rpn_feature_maps[:4]

        if mode == "training":
            anchors = AnchorsLayer(self.get_anchors(config.IMAGE_SHAPE), name="anchors")(input_image)
        else:
            anchors = input_anchors
        rpn = build_rpn_model(config.RPN_ANCHOR_STRIDE, len(config.RPN_ANCHOR_RATIOS),
                              config.TOP_DOWN_PYRAMID_SIZE, config.RPN_CONV_CHANNELS)
        level_outputs = list(zip(*[rpn(p) for p in rpn_feature_maps]))
        rpn_class_logits, rpn_class, rpn_bbox = [
            KL.Concatenate(axis=1, name=name)(list(outputs))
            for outputs, name in zip(level_outputs, ("rpn_class_logits", "rpn_class", "rpn_bbox"))]
        proposal_count = config.POST_NMS_ROIS_TRAINING if mode == "training" else config.POST_NMS_ROIS_INFERENCE
        rpn_rois = ProposalLayer(proposal_count, config.RPN_NMS_THRESHOLD, config,
                                 name="ROI")([rpn_class, rpn_bbox, anchors])
        head_args = (mrcnn_feature_maps, input_image_meta)

        if mode == "training":
            active_class_ids = GraphLambda(lambda x: parse_image_meta_graph(x)["active_class_ids"],
                                           name="active_class_ids")(input_image_meta)
            rois, target_class_ids, target_bbox, target_mask = DetectionTargetLayer(
                config, name="proposal_targets")([rpn_rois, input_gt_class_ids, gt_boxes, input_gt_masks])
            mrcnn_class_logits, mrcnn_class, mrcnn_bbox = fpn_classifier_graph(
                rois, *head_args, config.POOL_SIZE, config.NUM_CLASSES, config.TRAIN_BN,
                config.FPN_CLASSIF_FC_LAYERS_SIZE)
            mrcnn_mask = build_fpn_mask_graph(rois, *head_args, config.MASK_POOL_SIZE, config.NUM_CLASSES,
                                              config.TRAIN_BN, config.MASK_HEAD_CHANNELS)
            output_rois = GraphLambda(tf.identity, name="output_rois")(rois)
            loss_inputs = {
                "rpn_class_loss": (rpn_class_loss_graph, [input_rpn_match, rpn_class_logits]),
                "rpn_bbox_loss": (rpn_bbox_loss_graph, [input_rpn_bbox, input_rpn_match, rpn_bbox]),
                "mrcnn_class_loss": (mrcnn_class_loss_graph, [target_class_ids, mrcnn_class_logits,
                                                              active_class_ids]),
                "mrcnn_bbox_loss": (mrcnn_bbox_loss_graph, [target_bbox, target_class_ids, mrcnn_bbox]),
                "mrcnn_mask_loss": (mrcnn_mask_loss_graph, [target_mask, target_class_ids, mrcnn_mask]),
            }
            losses = [GraphLambda(lambda x, fn=fn: fn(*x), name=name)(args)
                      for name, (fn, args) in loss_inputs.items()]
            inputs = dict(zip(TRAINING_INPUTS, [input_image, input_image_meta, input_rpn_match, input_rpn_bbox,
                                                input_gt_class_ids, input_gt_boxes, input_gt_masks]))
            outputs = [rpn_class_logits, rpn_class, rpn_bbox, mrcnn_class_logits, mrcnn_class, mrcnn_bbox,
                       mrcnn_mask, rpn_rois, output_rois] + losses
            return MaskRCNNTrainingModel(inputs, outputs, config, name="mask_rcnn")

        mrcnn_class_logits, mrcnn_class, mrcnn_bbox = fpn_classifier_graph(
            rpn_rois, *head_args, config.POOL_SIZE, config.NUM_CLASSES, config.TRAIN_BN,
            config.FPN_CLASSIF_FC_LAYERS_SIZE)
        detections = DetectionLayer(config, name="mrcnn_detection")(
            [rpn_rois, mrcnn_class, mrcnn_bbox, input_image_meta])
        detection_boxes = GraphLambda(lambda x: x[..., :4], name="detection_boxes")(detections)
        mrcnn_mask = build_fpn_mask_graph(detection_boxes, *head_args, config.MASK_POOL_SIZE, config.NUM_CLASSES,
                                          config.TRAIN_BN, config.MASK_HEAD_CHANNELS, skip_padding=True)
        return keras.Model([input_image, input_image_meta, input_anchors],
                           [detections, mrcnn_class, mrcnn_bbox, mrcnn_mask, rpn_rois, rpn_class, rpn_bbox],
                           name="mask_rcnn")

    def get_anchors(self, image_shape: Sequence[int]) -> np.ndarray:
        """Normalized anchors [A, 4] of an image shape (cached); pixel anchors stay in self.anchors."""
        key = tuple(int(s) for s in image_shape[:2])
        if key not in self._anchor_cache:
            self.anchors = utils.generate_pyramid_anchors(
                self.config.RPN_ANCHOR_SCALES, self.config.RPN_ANCHOR_RATIOS,
                compute_backbone_shapes(self.config, key), self.config.BACKBONE_STRIDES,
                self.config.RPN_ANCHOR_STRIDE)
            self._anchor_cache[key] = utils.norm_boxes(self.anchors, key)
        return self._anchor_cache[key]

    # -- weights and checkpoints ------------------------------------------------------------------------

    def load_weights(self, filepath: str, by_name: bool = False, exclude: Sequence[str] | None = None) -> dict:
        """Load Matterport-layout h5 weights; ``exclude`` (layer names) implies by_name.

        Returns the loader's report (loaded / excluded / missing / unused layer names) and moves
        the log directory and epoch counter to the checkpoint's, as Matterport does.
        """
        if exclude:
            by_name = True
        report = weights.load_weights(self.keras_model, filepath, by_name=by_name, exclude=exclude)
        self.set_log_dir(filepath)
        return report

    def save_weights(self, filepath: str) -> None:
        """Save the weights in Matterport's h5 layout."""
        weights.save_weights(self.keras_model, filepath)

    def set_log_dir(self, model_path: str | None = None) -> None:
        """Set log_dir / checkpoint_path / epoch: new ones, or those of a checkpoint path."""
        self.epoch = 0
        now = datetime.datetime.now()
        if model_path:
            regex = r".*[/\\][\w-]+(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})[/\\]mask\_rcnn\_[\w-]+(\d{4})\.h5"
            m = re.match(regex, str(model_path))
            if m:
                now = datetime.datetime(*(int(m.group(i)) for i in range(1, 6)))
                self.epoch = int(m.group(6))  # the next epoch to run, 0-based
        name = (self.config.NAME or "mask_rcnn").lower()
        self.log_dir = os.path.join(self.model_dir, f"{name}{now:%Y%m%dT%H%M}")
        self.checkpoint_path = os.path.join(self.log_dir, f"mask_rcnn_{name}_" + "{epoch:04d}.h5")

    def find_last(self) -> str:
        """Path of the last checkpoint of the newest run directory of this config's NAME."""
        key = (self.config.NAME or "mask_rcnn").lower()
        dir_names = sorted(d for d in next(os.walk(self.model_dir))[1] if d.startswith(key)) \
            if os.path.isdir(self.model_dir) else []
        if not dir_names:
            raise FileNotFoundError(errno.ENOENT, f"Could not find model directory under {self.model_dir}")
        dir_name = os.path.join(self.model_dir, dir_names[-1])
        checkpoints = sorted(f for f in next(os.walk(dir_name))[2] if f.startswith("mask_rcnn"))
        if not checkpoints:
            raise FileNotFoundError(errno.ENOENT, f"Could not find weight files in {dir_name}")
        return os.path.join(dir_name, checkpoints[-1])

    # -- training -------------------------------------------------------------------------------------

    def find_trainable_layer(self, layer: KL.Layer) -> KL.Layer:
        """The layer holding the weights (unwraps TimeDistributed)."""
        if isinstance(layer, TimeDistributed):
            return self.find_trainable_layer(layer.layer)
        return layer

    def get_trainable_layers(self) -> list:
        """Layers that have weights."""
        return [layer for layer in map(self.find_trainable_layer, self.keras_model.layers) if layer.weights]

    def set_trainable(self, layer_regex: str, keras_model: keras.Model | None = None, indent: int = 0,
                      verbose: int = 1) -> None:
        """Make layers whose name full-matches ``layer_regex`` trainable, the others frozen (recursive)."""
        keras_model = keras_model if keras_model is not None else self.keras_model
        if verbose > 0 and keras_model is self.keras_model:
            log.info("Selecting layers to train")
        for layer in keras_model.layers:
            if isinstance(layer, keras.Model):
                log.debug("%sIn model: %s", " " * indent, layer.name)
                self.set_trainable(layer_regex, keras_model=layer, indent=indent + 4, verbose=verbose)
                continue
            if not layer.weights:
                continue
            layer.trainable = bool(re.fullmatch(layer_regex, layer.name))
            if layer.trainable and verbose > 0:
                log.info("%s%-20s (%s)", " " * indent, layer.name, type(self.find_trainable_layer(layer)).__name__)

    def compile(self, learning_rate: float, momentum: float) -> None:
        """SGD with momentum and gradient clipping (global norm, as Keras 2's clipnorm was)."""
        with self.strategy.scope():
            optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum,
                                             global_clipnorm=self.config.GRADIENT_CLIP_NORM)
            self.keras_model.compile(optimizer=optimizer, jit_compile=False)

    def train(self, train_dataset: utils.Dataset, val_dataset: utils.Dataset | None, learning_rate: float,
              epochs: int, layers: str, augmentation: Callable | None = None,
              custom_callbacks: Sequence[keras.callbacks.Callback] | None = None,
              no_augmentation_sources: Sequence[str] | None = None, verbose: int | str = "auto"):
        """Train up to ``epochs`` (the cumulative total) the layers of a preset or regex.

        layers: "heads", "3+", "4+", "5+", "all" or a regex over layer names. Checkpoints go to
        self.checkpoint_path after every epoch; returns the Keras History.
        """
        if self.mode != "training":
            raise ValueError("Create model in training mode.")
        layer_regex = LAYER_PRESETS.get(layers, layers)
        seed = self.config.SEED
        train_generator = DataGenerator(train_dataset, self.config, self.config.STEPS_PER_EPOCH, shuffle=True,
                                        augmentation=augmentation, no_augmentation_sources=no_augmentation_sources,
                                        seed=seed, first_epoch=self.epoch)
        val_generator = None
        if val_dataset is not None:
            val_generator = DataGenerator(val_dataset, self.config, self.config.VALIDATION_STEPS, shuffle=True,
                                          seed=None if seed is None else seed + 1, first_epoch=self.epoch)
        os.makedirs(self.log_dir, exist_ok=True)
        callbacks = [MatterportCheckpoint(self.checkpoint_path),
                     keras.callbacks.CSVLogger(os.path.join(self.log_dir, "history.csv"), append=True)]
        callbacks += list(custom_callbacks or [])
        log.info("Starting at epoch %d. LR=%s", self.epoch, learning_rate)
        log.info("Checkpoint Path: %s", self.checkpoint_path)
        self.set_trainable(layer_regex)
        self.compile(learning_rate, self.config.LEARNING_MOMENTUM)
        history = self.keras_model.fit(
            train_generator, initial_epoch=self.epoch, epochs=epochs, steps_per_epoch=self.config.STEPS_PER_EPOCH,
            callbacks=callbacks, validation_data=val_generator,
            validation_steps=self.config.VALIDATION_STEPS if val_generator is not None else None, verbose=verbose)
        self.epoch = max(self.epoch, epochs)
        return history

    # -- inference ------------------------------------------------------------------------------------

    def mold_inputs(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """RGB images -> (molded images [B, H, W, C] float32, image metas [B, META], windows [B, 4])."""
        config = self.config
        molded_images, image_metas, windows = [], [], []
        for image in images:
            molded_image, window, scale, _, _ = utils.resize_image(
                image, min_dim=config.IMAGE_MIN_DIM, min_scale=config.IMAGE_MIN_SCALE,
                max_dim=config.IMAGE_MAX_DIM, mode=config.IMAGE_RESIZE_MODE)
            molded_image = utils.mold_image(molded_image, config)
            image_metas.append(compose_image_meta(0, image.shape, molded_image.shape, window, scale,
                                                  np.zeros([config.NUM_CLASSES], dtype=np.int32)))
            molded_images.append(molded_image)
            windows.append(window)
        return np.stack(molded_images), np.stack(image_metas), np.array(windows, dtype=np.int32)

    def unmold_detections(self, detections: np.ndarray, mrcnn_mask: np.ndarray | None, original_image_shape,
                          image_shape, window, unmold_masks: bool = True) -> dict[str, np.ndarray]:
        """One image's padded detections and masks -> results in original-image pixels.

        Returns rois [N, (y1, x1, y2, x2)] int32, class_ids [N] int32, scores [N] float32 and
        masks [H, W, N] bool (a view, see utils.unmold_masks); empty arrays of these shapes when
        nothing was detected. Extensions: with unmold_masks=False the masks stay the head's [N, h, w]
        float probabilities (pasting full-image masks is the slow part of post-processing); with
        mrcnn_mask None (a graph run without the mask head) there is no "masks" entry.
        """
        zero_ix = np.where(detections[:, 4] == 0)[0]
        n = zero_ix[0] if zero_ix.shape[0] > 0 else detections.shape[0]
        boxes = detections[:n, :4]
        class_ids = detections[:n, 4].astype(np.int32)
        scores = detections[:n, 5].astype(np.float32)
        wy1, wx1, wy2, wx2 = utils.norm_boxes(np.asarray(window, dtype=np.float32), image_shape[:2])
        shift = np.array([wy1, wx1, wy1, wx1])
        scale = np.array([wy2 - wy1, wx2 - wx1, wy2 - wy1, wx2 - wx1])
        boxes = utils.denorm_boxes(np.divide(boxes - shift, scale), original_image_shape[:2])
        keep = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) > 0
        result = {"rois": boxes[keep].reshape(-1, 4).astype(np.int32), "class_ids": class_ids[keep],
                  "scores": scores[keep]}
        if mrcnn_mask is not None:
            masks = mrcnn_mask[np.arange(n), :, :, class_ids][keep]
            result["masks"] = (utils.unmold_masks(masks, result["rois"], original_image_shape) if unmold_masks
                               else masks)
        return result

    def _predictor(self, with_masks: bool) -> Callable:
        """The compiled inference call -> (detections, mrcnn_mask), or with_masks=False (detections,) from
        the graph without the mask head: the same detections for less work."""
        if with_masks not in self._predictors:
            outputs = self.keras_model.outputs
            model = keras.Model(self.keras_model.inputs, [outputs[0], outputs[3]] if with_masks else [outputs[0]])
            self._predictors[with_masks] = tf.function(
                lambda inputs: tf.nest.flatten(model(inputs, training=False)), reduce_retracing=True, jit_compile=False)
        return self._predictors[with_masks]

    def _run_graph(self, molded_images: np.ndarray, image_metas: np.ndarray,
                   with_masks: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """One compiled call of the inference graph -> (detections, mrcnn_mask or None without the mask head)."""
        anchors = self.get_anchors(molded_images[0].shape)
        anchors = np.broadcast_to(anchors, (len(molded_images),) + anchors.shape)
        outputs = self._predictor(with_masks)([tf.constant(molded_images, tf.float32),
                                               tf.constant(image_metas, tf.float32),
                                               tf.constant(anchors, tf.float32)])
        return outputs[0].numpy(), outputs[1].numpy() if with_masks else None

    def detect(self, images: Sequence[np.ndarray], verbose: int = 0, unmold_masks: bool = True,
               mask_head: bool = True) -> list[dict[str, np.ndarray]]:
        """Detect instances in len(images) == BATCH_SIZE images (0-255 RGB; gray, RGBA, 16-bit converted).

        Returns per image a dict: rois [N, 4] pixels, class_ids [N], scores [N], masks [H, W, N] bool
        (unmold_masks=False: the head's [N, h, w] mask probabilities; mask_head=False: no masks, and
        the graph skips the mask head; see unmold_detections).
        """
        if self.mode != "inference":
            raise ValueError("Create model in inference mode.")
        if len(images) != self.config.BATCH_SIZE:
            raise ValueError(f"len(images) must be equal to BATCH_SIZE ({self.config.BATCH_SIZE}), "
                             f"got {len(images)}")
        images = [to_rgb_pixels(image) for image in images]
        if verbose:
            log_array(f"Processing {len(images)} images")
            for image in images:
                log_array("image", image)
        molded_images, image_metas, windows = self.mold_inputs(images)
        if len({m.shape for m in molded_images}) != 1:
            raise ValueError("After resizing, all images must have the same size. Check IMAGE_RESIZE_MODE "
                             "and image sizes.")
        if verbose:
            log_array("molded_images", molded_images)
            log_array("image_metas", image_metas)
        detections, mrcnn_mask = self._run_graph(molded_images, image_metas, mask_head)
        return [self.unmold_detections(detections[i], mrcnn_mask[i] if mask_head else None, image.shape,
                                       molded_images[i].shape, windows[i], unmold_masks)
                for i, image in enumerate(images)]

    def detect_molded(self, molded_images: np.ndarray, image_metas: np.ndarray,
                      verbose: int = 0) -> list[dict[str, np.ndarray]]:
        """Detect on already molded images (e.g. from load_image_gt); results in molded coordinates."""
        if self.mode != "inference":
            raise ValueError("Create model in inference mode.")
        if len(molded_images) != self.config.BATCH_SIZE:
            raise ValueError(f"len(molded_images) must be equal to BATCH_SIZE ({self.config.BATCH_SIZE})")
        molded_images = np.asarray(molded_images, dtype=np.float32)
        if verbose:
            log_array("molded_images", molded_images)
            log_array("image_metas", image_metas)
        detections, mrcnn_mask = self._run_graph(molded_images, np.asarray(image_metas, dtype=np.float32))
        return [self.unmold_detections(detections[i], mrcnn_mask[i], image.shape, image.shape,
                                       [0, 0, image.shape[0], image.shape[1]])
                for i, image in enumerate(molded_images)]


mold_image = utils.mold_image
unmold_image = utils.unmold_image
