"""The embedded synthetic dataset, written in the raw formats of the real data.

``generate(out)`` writes
- ``out/VOC2010/JPEGImages/<id>.jpg``, ``Annotations_Part/<id>.mat`` (PASCAL-Part struct layout, raw
  part names) and ``Annotations/<id>.xml`` (VOC): scenes of one object, sometimes two;
- ``out/imagenet/<class>/*.jpg``: separately generated single-object training images;
- ``out/flickr/<class>/*.jpg``: separately generated single-object test images with a photo look
  (colour cast, vignette), never copies of the others;
so the real converters (pascal_part, voc, folders) run on it unchanged.

Every image is generated from its own generator seeded with (seed, stream, index): the output does
not depend on the number of worker processes, and a re-run only generates files that are missing.
Design for learnability at 128 px: objects fill most of the image, parts have distinct shapes,
colours and textures, small parts are at least 8 px (scaled with ``size``).
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from dataset_tools.mat_format import ImageAnnotation, ObjectAnnotation, PartAnnotation, write_annotation
from dataset_tools.synth_canvas import BACKGROUND, Canvas, background, clutter_texture, finish, random_blob
from dataset_tools.synth_objects import ASPECT, DRAWERS, Drawer
from unmask.fileio import read_json, write_bytes_atomic, write_json_atomic
from unmask.parts import CLASS_SETS

CLASSES: tuple[str, ...] = tuple(DRAWERS)
"""Classes the generator can draw (every class of the four class sets)."""
STREAMS = {"voc": 0, "imagenet": 1, "flickr": 2}
FORMAT_VERSION = 1
TWO_OBJECT_FRACTION = 0.2


def image_id(index: int) -> str:
    """VOC-style image id of the index-th generated scene (digits only, like the real ids)."""
    return f"2010_{index + 1:06d}"


def _place(cls: str, size: int, rng: np.random.Generator, extent: tuple[float, float], slot: tuple[float, float]):
    """A frame (x0, y0, w, h) whose larger side is ``extent`` x size, centred in the horizontal ``slot``."""
    aspect = ASPECT[cls] * rng.uniform(0.9, 1.1)
    longest = rng.uniform(*extent) * size
    w, h = (longest, longest * aspect) if aspect <= 1 else (longest / aspect, longest)
    lo, hi = slot[0] * size, slot[1] * size
    cx = rng.uniform(min(lo + w / 2, (lo + hi) / 2), max(hi - w / 2, (lo + hi) / 2))
    y0 = rng.uniform(0.02 * size, max(0.98 * size - h, 0.02 * size))
    return cx - w / 2, y0, w, h


def render_scene(classes: list[str], size: int, rng: np.random.Generator, style: str = "voc") -> tuple[np.ndarray, Canvas, list[str]]:
    """Draw one scene with the given objects; returns (uint8 RGB image, canvas, VOC poses)."""
    canvas = Canvas(background(size, rng), rng)
    for _ in range(int(rng.integers(2, 7))):
        canvas.paint(BACKGROUND, random_blob(size, rng, (0.08, 0.35)), clutter_texture(rng))
    two = len(classes) == 2
    slots = [(0.0, 0.62), (0.38, 1.0)] if two else [(0.0, 1.0)]
    if two and rng.random() < 0.5:
        slots.reverse()
    poses = []
    for cls, slot in zip(classes, slots):
        extent = (0.5, 0.66) if two else ((0.72, 0.95) if style == "voc" else (0.8, 0.97))
        x0, y0, w, h = _place(cls, size, rng, extent, slot)
        obj = canvas.new_object(cls)
        drawer = Drawer(canvas, obj, x0, y0, w, h, int(rng.choice([-1, 1])), 8.0 * size / 128,
                        shear=float(rng.uniform(-0.12, 0.12)), tilt=float(rng.uniform(-0.12, 0.12)))
        poses.append(DRAWERS[cls](drawer))
    if rng.random() < 0.25:
        canvas.paint(BACKGROUND, random_blob(size, rng, (0.04, 0.12)), clutter_texture(rng))
    return finish(canvas.image, rng, style), canvas, poses


def _voc_xml(imname: str, size: int, objects: list[tuple[str, str, np.ndarray]]) -> bytes:
    """A PASCAL VOC annotation (1-based pixel boxes) for (class, pose, mask) objects."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "VOC2010"
    ET.SubElement(root, "filename").text = f"{imname}.jpg"
    src = ET.SubElement(root, "source")
    ET.SubElement(src, "database").text = "UnMask-TF synthetic"
    sz = ET.SubElement(root, "size")
    for tag, value in (("width", size), ("height", size), ("depth", 3)):
        ET.SubElement(sz, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for cls, pose, mask in objects:
        ys, xs = np.nonzero(mask)
        box = (xs.min() + 1, ys.min() + 1, xs.max() + 1, ys.max() + 1)
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = cls
        ET.SubElement(node, "pose").text = pose
        ET.SubElement(node, "truncated").text = str(int(box[0] == 1 or box[1] == 1 or box[2] == size or box[3] == size))
        ET.SubElement(node, "difficult").text = "0"
        bb = ET.SubElement(node, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            ET.SubElement(bb, tag).text = str(int(value))
    return ET.tostring(root, encoding="utf-8")


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def _voc_job(job: tuple[Path, int, int, int, tuple[str, ...]]) -> int:
    """Generate VOC-style scene ``index`` unless its three files exist; returns 1 if generated."""
    root, index, size, seed, classes = job
    imname = image_id(index)
    paths = (root / "Annotations_Part" / f"{imname}.mat", root / "Annotations" / f"{imname}.xml",
             root / "JPEGImages" / f"{imname}.jpg")
    if all(p.exists() for p in paths):
        return 0
    rng = np.random.default_rng([seed, STREAMS["voc"], index])
    picked = [str(rng.choice(classes))]
    if rng.random() < TWO_OBJECT_FRACTION:
        picked.append(str(rng.choice(classes)))
    image, canvas, poses = render_scene(picked, size, rng)
    min_area = max(6, int(round(12 * (size / 128) ** 2)))
    masks = canvas.part_masks(min_area)
    objects, voc_objects = [], []
    for obj, (cls, pose) in enumerate(zip(picked, poses)):
        silhouette = canvas.object_mask(obj)
        if silhouette.sum() < min_area:
            continue
        parts = [PartAnnotation(name, mask.astype(np.uint8)) for o, name, mask in masks if o == obj]
        objects.append(ObjectAnnotation(cls, silhouette.astype(np.uint8), parts))
        voc_objects.append((cls, pose, silhouette))
    tmp = paths[0].with_name(f".{imname}.mat.tmp")
    write_annotation(tmp, ImageAnnotation(imname, objects))
    tmp.replace(paths[0])
    write_bytes_atomic(paths[1], _voc_xml(imname, size, voc_objects))
    write_bytes_atomic(paths[2], _jpeg(image, int(rng.integers(80, 96))))
    return 1


def _folder_job(job: tuple[Path, str, str, int, int, int]) -> int:
    """Generate single-object image ``index`` of ``cls`` in an ImageNet- or Flickr-style folder."""
    root, style, cls, index, size, seed = job
    path = root / cls / f"{cls}_{index:05d}.jpg"
    if path.exists():
        return 0
    class_index = CLASSES.index(cls)
    rng = np.random.default_rng([seed, STREAMS[style], class_index, index])
    image, _, _ = render_scene([cls], size, rng, style)
    write_bytes_atomic(path, _jpeg(image, int(rng.integers(75, 96))))
    return 1


def _run(fn, jobs: list, workers: int) -> int:
    if workers <= 1 or len(jobs) < 2 * workers:
        return sum(map(fn, jobs))
    with get_context("spawn").Pool(workers) as pool:
        return sum(pool.imap_unordered(fn, jobs, chunksize=8))


def folder_classes() -> tuple[str, ...]:
    """Classes of the ImageNet- and Flickr-style folders: every class of the four class sets."""
    return tuple(sorted({cls for classes in CLASS_SETS.values() for cls in classes}))


def generate(out: Path, n_images: int = 2000, size: int = 128, seed: int = 0, imagenet_per_class: int = 60,
             flickr_per_class: int = 50, classes: tuple[str, ...] = CLASSES, workers: int = 1) -> Path:
    """Generate the synthetic dataset under ``out`` and return ``out``.

    n_images: VOC-style scenes (PASCAL-Part + VOC annotations); imagenet_per_class, flickr_per_class:
    single-object images per class-set class. Re-running with the same size/seed/classes only fills in
    missing files (so counts can grow); other options on an existing folder raise ValueError."""
    start = time.perf_counter()
    out = Path(out)
    unknown = set(classes) - set(CLASSES)
    if unknown:
        raise ValueError(f"cannot draw class(es) {sorted(unknown)}; drawable: {', '.join(CLASSES)}")
    options = {"version": FORMAT_VERSION, "size": size, "seed": seed, "classes": list(classes)}
    manifest_path = out / "synthetic.json"
    previous = read_json(manifest_path)
    if previous is not None and previous.get("options") != options:
        raise ValueError(f"{out} holds a synthetic dataset generated with {previous.get('options')}, not {options}; "
                         "choose another --out or delete it")
    voc = out / "VOC2010"
    for sub in ("JPEGImages", "Annotations_Part", "Annotations"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    made = {"voc": _run(_voc_job, [(voc, i, size, seed, tuple(classes)) for i in range(n_images)], workers)}
    for style, per_class in (("imagenet", imagenet_per_class), ("flickr", flickr_per_class)):
        for cls in folder_classes():
            (out / style / cls).mkdir(parents=True, exist_ok=True)
        jobs = [(out / style, style, cls, i, size, seed) for cls in folder_classes() for i in range(per_class)]
        made[style] = _run(_folder_job, jobs, workers)
    counts = {"voc": n_images, "imagenet_per_class": imagenet_per_class, "flickr_per_class": flickr_per_class}
    write_json_atomic(manifest_path, {"options": options, "counts": counts, "generated_now": made,
                                      "elapsed_s": round(time.perf_counter() - start, 2)})
    return out
