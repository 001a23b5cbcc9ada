"""Mask R-CNN inference speed and peak memory: resnet50/101-FPN at 512/1024 px, batch 1 and 4.

Random weights, Matterport's default heads (NUM_CLASSES 81, 1000 proposals, 100 detections with score
threshold 0), the full detect() path (molding, one compiled graph call, unmolding). Each configuration
runs in its own subprocess so that its peak memory (max RSS; GPU peak when a GPU is used) is its own.

``--profile`` times each stage of detect() at batch 1 instead: every graph stage as its own compiled
sub-model of the inference graph (fed the real intermediate tensors of the same image), molding and
unmolding as the Python calls detect() makes, stages run round-robin so that machine load spreads
evenly over them. It also times UnMask's part extractor (``MaskRCNNExtractor.extract``, 150 px images
scaled into the square canvas as in the evaluator, part classes only) against detect() with masks.

    python benchmarks/bench_mrcnn.py                       # everything
    python benchmarks/bench_mrcnn.py --backbones resnet50 --sizes 512 --batches 1
    python benchmarks/bench_mrcnn.py --profile --backbones resnet50 --sizes 512 1024
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from children import run_child  # benchmarks/children.py (scripts run as benchmarks/<name>.py)

PYRAMID = ("fpn_p2", "fpn_p3", "fpn_p4", "fpn_p5", "fpn_p6")
# Graph stages of the inference model: (name, input layers, output layers); layer names are Matterport's.
STAGES = (
    ("backbone + FPN", ("input_image",), PYRAMID),
    ("RPN head", PYRAMID, ("rpn_class", "rpn_bbox")),
    ("proposal layer (top-k, NMS)", ("rpn_class", "rpn_bbox", "input_anchors"), ("ROI",)),
    ("ROIAlign, classifier", ("ROI", "input_image_meta") + PYRAMID[:4], ("roi_align_classifier",)),
    ("classifier head", ("roi_align_classifier",), ("mrcnn_class", "mrcnn_bbox")),
    ("detection layer", ("ROI", "mrcnn_class", "mrcnn_bbox", "input_image_meta"), ("mrcnn_detection",)),
    ("ROIAlign, mask", ("detection_boxes", "input_image_meta") + PYRAMID[:4], ("roi_align_mask",)),
    ("mask head", ("roi_align_mask", "detection_boxes"), ("mrcnn_mask",)),
)


def build_model(backbone: str, size: int, batch: int):
    """An inference MaskRCNN with random weights at ``size`` px (score threshold 0, UnMask's setting: 100
    detections) and the bench's random images."""
    import numpy as np

    from mrcnn.config import Config
    from mrcnn.model import MaskRCNN

    config = Config(NAME="bench", BACKBONE=backbone, NUM_CLASSES=81, IMAGES_PER_GPU=batch,
                    IMAGE_MIN_DIM=size, IMAGE_MAX_DIM=size, DETECTION_MIN_CONFIDENCE=0)
    model = MaskRCNN("inference", config, tempfile.gettempdir())
    rng = np.random.default_rng(0)
    return model, [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(batch)]


def run_one(backbone: str, size: int, batch: int, repeats: int) -> dict:
    """Build, warm up (trace) and time detect() for one configuration in this process."""
    import tensorflow as tf

    start = time.perf_counter()
    model, images = build_model(backbone, size, batch)
    build = time.perf_counter() - start
    start = time.perf_counter()
    model.detect(images)  # traces the graph
    first = time.perf_counter() - start
    median = median_times({"detect": lambda: model.detect(images)}, repeats)["detect"]
    gpus = tf.config.list_logical_devices("GPU")
    result = {"backbone": backbone, "size": size, "batch": batch, "device": "GPU" if gpus else "CPU",
              "build_s": build, "first_call_s": first, "median_call_s": median, "images_per_s": batch / median,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if gpus:
        result["peak_gpu_mb"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20
    return result


def median_times(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each call over ``repeats`` round-robin rounds, after one untimed warm-up round."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(repeats + 1):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def graph_stage_calls(model, images) -> dict[str, Callable[[], object]]:
    """One compiled call per graph stage (STAGES), each fed the intermediate tensors of ``images``."""
    import keras
    import tensorflow as tf

    net = model.keras_model
    molded, metas, _ = model.mold_inputs(images)
    anchors = model.get_anchors(molded[0].shape)[None]
    names = sorted({name for _, inputs, outputs in STAGES for name in inputs + outputs})
    everything = keras.Model(net.inputs, [net.get_layer(n).output for n in names])
    values = dict(zip(names, everything([tf.constant(molded), tf.constant(metas), tf.constant(anchors)],
                                        training=False)))
    calls = {}
    for stage, inputs, outputs in STAGES:
        sub = keras.Model([net.get_layer(n).output for n in inputs], [net.get_layer(n).output for n in outputs])
        run = tf.function(lambda xs, sub=sub: sub(xs, training=False), jit_compile=False)
        calls[stage] = lambda run=run, xs=[values[n] for n in inputs]: run(xs)
    return calls


def host_stage_calls(model, images) -> dict[str, Callable[[], object]]:
    """detect()'s Python stages on one image: molding, unmolding of boxes, unmolding of boxes and masks."""
    molded, metas, windows = model.mold_inputs(images)
    detections, mrcnn_mask = model._run_graph(molded, metas)
    unmold_args = (detections[0], mrcnn_mask[0], images[0].shape, molded[0].shape, windows[0])
    return {"molding": lambda: model.mold_inputs(images),
            "unmolding boxes": lambda: model.unmold_detections(*unmold_args, unmold_masks=False),
            "unmolding boxes + masks": lambda: model.unmold_detections(*unmold_args)}


def extractor_calls(backbone: str, size: int) -> dict[str, Callable[[], object]]:
    """UnMask's K (part config "matterport" with this backbone and canvas, random weights with the
    background logit lowered so that all 100 detections are parts: the worst case) on one 150 px image:
    ``extract`` (the part set, what the evaluator calls: no mask head), detect() with the head's masks
    unpasted (what ``extract`` ran before issue 18) and with full-image masks."""
    import numpy as np

    from mrcnn.model import MaskRCNN
    from unmask.extractor import MaskRCNNExtractor
    from unmask.part_model import part_config

    overrides = {"BACKBONE": backbone, "IMAGE_MIN_DIM": size * 800 // 1024, "IMAGE_MAX_DIM": size}
    checkpoint = os.path.join(tempfile.mkdtemp(), "k.h5")
    MaskRCNN("inference", part_config("matterport", "inference", overrides), tempfile.gettempdir()).save_weights(checkpoint)
    extractor = MaskRCNNExtractor(checkpoint, "matterport", overrides)
    logits = extractor.model.keras_model.get_layer("mrcnn_class_logits")
    kernel, bias = logits.get_weights()
    logits.set_weights([kernel, bias - 30.0 * (np.arange(len(bias)) == 0)])
    image = np.random.default_rng(0).random((1, 150, 150, 3), dtype=np.float32)
    canvas = [extractor.k_input(image[0])]
    return {"extractor: extract (part set)": lambda: extractor.extract(image),
            "extractor: head masks unpasted": lambda: extractor.model.detect(canvas, unmold_masks=False),
            "extractor: detect with masks": lambda: extractor.detect(image)}


def profile_one(backbone: str, size: int, repeats: int) -> dict:
    """Per-stage medians (s) of detect() at batch 1, the whole graph call and detect(), and K's timings."""
    model, images = build_model(backbone, size, 1)
    molded, metas, _ = model.mold_inputs(images)
    calls = {**graph_stage_calls(model, images), **host_stage_calls(model, images),
             "graph, one call": lambda: model._run_graph(molded, metas), "detect()": lambda: model.detect(images),
             **extractor_calls(backbone, size)}
    times = median_times(calls, repeats)
    times["unmolding masks"] = max(times.pop("unmolding boxes + masks") - times["unmolding boxes"], 0.0)
    times["detections"] = len(model.detect(images)[0]["class_ids"])
    return times


def print_profile(backbone: str, size: int, times: dict[str, float]) -> None:
    """The stage table with each stage's share of their sum, then the whole-call and extractor lines."""
    stages = ["molding"] + [name for name, _, _ in STAGES] + ["unmolding boxes", "unmolding masks"]
    total = sum(times[name] for name in stages)
    print(f"\n{backbone} {size} px, batch 1, {times['detections']} detections: per-stage medians")
    print(f"{'stage':30} {'s':>7} {'share':>6}")
    for name in stages:
        print(f"{name:30} {times[name]:7.3f} {times[name] / total:6.1%}")
    print(f"{'sum of stages':30} {total:7.3f}")
    for name in ("graph, one call", "detect()", "extractor: extract (part set)", "extractor: head masks unpasted",
                 "extractor: detect with masks"):
        print(f"{name:30} {times[name]:7.3f} s  {1 / times[name]:6.3f} img/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["resnet50", "resnet101"],
                        choices=["resnet50", "resnet101"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up round")
    parser.add_argument("--profile", action="store_true", help="time each stage of detect() at batch 1")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv)
    if args.one:
        backbone, size = args.backbones[0], args.sizes[0]
        result = (profile_one(backbone, size, args.repeats) if args.profile
                  else run_one(backbone, size, args.batches[0], args.repeats))
        print(json.dumps(result))
        return 0

    if args.profile:
        for backbone in args.backbones:
            for size in args.sizes:
                times = run_child(__file__, ["--profile", "--backbones", backbone, "--sizes", str(size),
                                   "--repeats", str(args.repeats)])
                if times is not None:
                    print_profile(backbone, size, times)
        return 0
    header = (f"{'backbone':10} {'size':>5} {'batch':>5} {'device':>6} {'img/s':>7} {'s/call':>7} "
              f"{'1st call s':>10} {'build s':>8} {'peak RSS MB':>11} {'peak GPU MB':>11}")
    print(header, flush=True)
    for backbone in args.backbones:
        for size in args.sizes:
            for batch in args.batches:
                r = run_child(__file__, ["--backbones", backbone, "--sizes", str(size), "--batches", str(batch),
                               "--repeats", str(args.repeats)])
                if r is None:
                    continue
                gpu = f"{r['peak_gpu_mb']:11.0f}" if "peak_gpu_mb" in r else f"{'-':>11}"
                print(f"{backbone:10} {size:>5} {batch:>5} {r['device']:>6} {r['images_per_s']:7.3f} "
                      f"{r['median_call_s']:7.2f} {r['first_call_s']:10.2f} {r['build_s']:8.2f} "
                      f"{r['peak_rss_mb']:11.0f} {gpu}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
