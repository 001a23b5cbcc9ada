"""A batch in which no detection survives: every inference output keeps its documented shape.

The failure this guards against comes from TF's oneDNN CPU convolution, which returns the input's
channel count for an empty batch: the mask head once produced mrcnn_mask [B, MAX, 28, 28, 256]
(compiled) or raised InvalidArgumentError (eager). oneDNN is on by default only on some CPUs and is
chosen when TensorFlow loads, so the check runs in a fresh interpreter with TF_ENABLE_ONEDNN_OPTS=1,
where it fails without the fix on any x86 CPU.
"""
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from mrcnn import model as M
from mrcnn.config import small_cpu_config

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check_outputs_without_detections(model_dir: str) -> None:
    """Assert the output shapes of predict (compiled), an eager call and detect() (compiled, via its own
    tf.function) on a batch whose every score is below DETECTION_MIN_CONFIDENCE (above any probability)."""
    config = small_cpu_config(NUM_CLASSES=4, IMAGES_PER_GPU=2, DETECTION_MIN_CONFIDENCE=1.5)
    model = M.MaskRCNN("inference", config, model_dir)
    images = [np.zeros((50, 60, 3), np.uint8), np.full((128, 100, 3), 200, np.uint8)]
    molded, metas, _ = model.mold_inputs(images)
    anchors = model.get_anchors(molded[0].shape)
    inputs = [tf.constant(molded, tf.float32), tf.constant(metas, tf.float32),
              tf.constant(np.broadcast_to(anchors, (2,) + anchors.shape))]
    b, rois, nc, det = 2, config.POST_NMS_ROIS_INFERENCE, config.NUM_CLASSES, config.DETECTION_MAX_INSTANCES
    expected = {"mrcnn_detection": (b, det, 6), "mrcnn_class": (b, rois, nc), "mrcnn_bbox": (b, rois, nc, 4),
                "mrcnn_mask": (b, det, *config.MASK_SHAPE, nc), "ROI": (b, rois, 4),
                "rpn_class": (b, len(anchors), 2), "rpn_bbox": (b, len(anchors), 4)}
    runs = {"predict": lambda: model.keras_model.predict([t.numpy() for t in inputs], verbose=0),
            "eager": lambda: [t.numpy() for t in model.keras_model(inputs, training=False)]}
    for run, call in runs.items():
        outputs = call()
        shapes = {name: out.shape for name, out in zip(expected, outputs)}
        assert shapes == expected, (run, shapes)
        assert not outputs[0].any() and not outputs[3].any(), run  # no detection, zero masks
    for unmold_masks, mask_shape in ((True, lambda image: image.shape[:2] + (0,)),
                                     (False, lambda image: (0, *config.MASK_SHAPE))):
        for image, result in zip(images, model.detect(images, unmold_masks=unmold_masks)):
            assert result["rois"].shape == (0, 4) and result["class_ids"].shape == (0,)
            assert result["scores"].shape == (0,) and result["masks"].shape == mask_shape(image)


def test_outputs_keep_their_shapes_when_nothing_is_detected():
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as model_dir:
        run = subprocess.run([sys.executable, os.path.abspath(__file__), model_dir], env=env,
                             capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]


if __name__ == "__main__":
    check_outputs_without_detections(sys.argv[1])
