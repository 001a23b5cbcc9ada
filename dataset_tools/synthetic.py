"""The embedded synthetic dataset, written in the raw formats of the real data.

``generate(out)`` writes
- ``out/VOC2010/JPEGImages/<id>.jpg``, ``Annotations_Part/<id>.mat`` (PASCAL-Part struct layout, raw
  part names) and ``Annotations/<id>.xml`` (VOC, with truncated and occluded flags): scenes of one
  or more objects;
- ``out/imagenet/<class>/*.jpg``: separately generated single-object training images;
- ``out/flickr/<class>/*.jpg``: separately generated single-object test images with a photo look
  (colour cast, vignette), never copies of the others;
so the real converters (pascal_part, voc, folders) run on it unchanged.

``difficulty`` picks the effects (``synth_canvas.Effects``) for the scenes K learns from and for the
single-object images UnMask is scored on: ``hard`` (the default) varies scale and pose, cuts objects
at the border, covers them with clutter and other objects, leaves optional parts out and adds uneven
lighting, blur and noise; ``easy`` is the first generator, image for image. Annotations hold only
visible pixels: a part hidden or cut down below ``min_area`` pixels is not annotated.

Every image is generated from its own generator seeded with (seed, stream, index): the output does
not depend on the number of worker processes, and a re-run only generates files that are missing.
Design for learnability at 128 px: parts have distinct shapes, colours and textures, small parts are
at least 8 px (scaled with ``size``).
"""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from dataset_tools.parallel import job_map
from dataset_tools.mat_format import ImageAnnotation, ObjectAnnotation, PartAnnotation, write_annotation
from dataset_tools.synth_canvas import (BACKGROUND, Canvas, Difficulty, Effects, background, clutter_texture, finish,
                                        random_blob)
from dataset_tools.synth_objects import ASPECT, DRAWERS, Drawer
from unmask.fileio import read_json, write_bytes_atomic, write_json_atomic
from unmask.parts import CLASS_SETS

CLASSES: tuple[str, ...] = tuple(DRAWERS)
"""Classes the generator can draw (every class of the four class sets)."""
STREAMS = {"voc": 0, "imagenet": 1, "flickr": 2}
FORMAT_VERSION = 2

EASY = Difficulty("easy", scenes=Effects(extra_objects=(0.2,)), single=Effects())
"""The first generator: big, centred, complete objects; a fifth of the scenes hold two."""
HARD = Difficulty(
    "hard",
    scenes=Effects(extra_objects=(0.35, 0.25), scale=(0.8, 1.1), truncation=0.2, occluders=0.6, rotation=10.0,
                   skew=0.16, dropout=0.1, lighting=0.3, brightness=(0.75, 1.2), contrast=(0.8, 1.2), blur=0.45,
                   blur_sigma=(0.4, 1.1), noise=0.045),
    single=Effects(scale=(0.5, 1.15), truncation=0.35, truncation_depth=(0.15, 0.5), occluders=1.2, distractors=0.15,
                   rotation=20.0, skew=0.2, dropout=0.15, lighting=0.5, brightness=(0.6, 1.25), contrast=(0.65, 1.2),
                   blur=0.6, blur_sigma=(0.5, 1.6), noise=0.06),
)
"""The default: several objects per scene, scale and pose variety, truncation, occlusion, missing parts,
uneven lighting, blur and noise; single-object photos harder than the scenes K learns from."""
DIFFICULTIES: dict[str, Difficulty] = {"easy": EASY, "hard": HARD}


def image_id(index: int) -> str:
    """VOC-style image id of the index-th generated scene (digits only, like the real ids)."""
    return f"2010_{index + 1:06d}"


def _place(cls: str, size: int, rng: np.random.Generator, extent: tuple[float, float], slot: tuple[float, float],
           scale: float = 1.0) -> tuple[float, float, float, float]:
    """A frame (x0, y0, w, h) whose larger side is ``extent`` x ``scale`` x size, centred in the horizontal ``slot``."""
    aspect = ASPECT[cls] * rng.uniform(0.9, 1.1)
    longest = rng.uniform(*extent) * scale * size
    w, h = (longest, longest * aspect) if aspect <= 1 else (longest / aspect, longest)
    lo, hi = slot[0] * size, slot[1] * size
    cx = rng.uniform(min(lo + w / 2, (lo + hi) / 2), max(hi - w / 2, (lo + hi) / 2))
    y0 = rng.uniform(0.02 * size, max(0.98 * size - h, 0.02 * size))
    return cx - w / 2, y0, w, h


def _truncate(frame: tuple[float, float, float, float], size: int, fx: np.random.Generator,
              depth: tuple[float, float]) -> tuple[float, float, float, float]:
    """The frame moved so that a share ``depth`` of it lies beyond one image border (bottom and sides
    more often than the top, as in photos)."""
    x0, y0, w, h = frame
    cut = fx.uniform(*depth)
    side = fx.choice(4, p=[0.3, 0.3, 0.15, 0.25])
    if side == 0:
        return -cut * w, y0, w, h
    if side == 1:
        return size - (1 - cut) * w, y0, w, h
    if side == 2:
        return x0, -cut * h, w, h
    return x0, size - (1 - cut) * h, w, h


def _layout(n: int, style: str, rng: np.random.Generator) -> tuple[list[tuple[float, float]], tuple[float, float]]:
    """Horizontal slots (overlapping, in random order) and the size range of ``n`` objects in a scene."""
    if n == 1:
        return [(0.0, 1.0)], ((0.72, 0.95) if style == "voc" else (0.8, 0.97))
    if n == 2:
        slots = [(0.0, 0.62), (0.38, 1.0)]
        if rng.random() < 0.5:
            slots.reverse()
        return slots, (0.5, 0.66)
    width = 1.3 / n
    step = (1 - width) / (n - 1)
    return [(i * step, i * step + width) for i in rng.permutation(n)], (0.4, 0.55)


def _draw(canvas: Canvas, cls: str, frame: tuple[float, float, float, float], effects: Effects,
          fx: np.random.Generator) -> str:
    """Draw one object of class ``cls`` in ``frame``; returns its VOC pose."""
    rng = canvas.rng
    obj = canvas.new_object(cls)
    drawer = Drawer(canvas, obj, *frame, int(rng.choice([-1, 1])), 8.0 * canvas.size / 128,
                    shear=float(rng.uniform(-effects.skew, effects.skew)), tilt=float(rng.uniform(-effects.skew, effects.skew)),
                    rotation=float(fx.uniform(-effects.rotation, effects.rotation)), dropout=effects.dropout, fx=fx)
    return DRAWERS[cls](drawer)


def _occlude(canvas: Canvas, fx: np.random.Generator, effects: Effects) -> None:
    """Paint a Poisson(``effects.occluders``) number of clutter shapes, each over a random object."""
    for _ in range(int(fx.poisson(effects.occluders))):
        ys, xs = np.nonzero(canvas.object_mask(int(fx.integers(len(canvas.objects)))))
        if ys.size == 0:
            continue
        centre = (int(fx.integers(xs.min(), xs.max() + 1)), int(fx.integers(ys.min(), ys.max() + 1)))
        canvas.paint(BACKGROUND, random_blob(canvas.size, fx, effects.occluder_size, centre), clutter_texture(fx))


def render_scene(classes: list[str], size: int, rng: np.random.Generator, style: str = "voc",
                 effects: Effects = Effects()) -> tuple[np.ndarray, Canvas, list[str]]:
    """Draw one scene with the given objects; returns (uint8 RGB image, canvas, VOC poses).

    ``effects`` (default: the easy look) may add a distractor object of another class, so the canvas
    can hold more objects than ``classes``; ``canvas.objects`` and the poses list all of them. Every
    effect draws from its own stream (spawned from ``rng``), so easy images do not depend on it."""
    fx = rng.spawn(1)[0]
    canvas = Canvas(background(size, rng), rng)
    for _ in range(int(rng.integers(2, 7))):
        canvas.paint(BACKGROUND, random_blob(size, rng, (0.08, 0.35)), clutter_texture(rng))
    distractor = bool(effects.distractors) and fx.random() < effects.distractors
    in_front = distractor and fx.random() < 0.5
    poses = [_distractor(canvas, classes, effects, fx)] if distractor and not in_front else []
    slots, extent = _layout(len(classes), style, rng)
    for cls, slot in zip(classes, slots):
        frame = _place(cls, size, rng, extent, slot, float(fx.uniform(*effects.scale)))
        if effects.truncation and fx.random() < effects.truncation:
            frame = _truncate(frame, size, fx, effects.truncation_depth)
        poses.append(_draw(canvas, cls, frame, effects, fx))
    if in_front:
        poses.append(_distractor(canvas, classes, effects, fx))
    _occlude(canvas, fx, effects)
    if rng.random() < 0.25:
        canvas.paint(BACKGROUND, random_blob(size, rng, (0.04, 0.12)), clutter_texture(rng))
    return finish(canvas.image, rng, style, effects, fx), canvas, poses


def _distractor(canvas: Canvas, classes: list[str], effects: Effects, fx: np.random.Generator) -> str:
    """Draw a partly visible object of a class not in ``classes`` (deeply truncated); returns its pose."""
    cls = str(fx.choice([c for c in DRAWERS if c not in classes]))
    frame = _place(cls, canvas.size, fx, (0.55, 0.85), (0.0, 1.0), float(fx.uniform(*effects.scale)))
    return _draw(canvas, cls, _truncate(frame, canvas.size, fx, (0.35, 0.65)), effects, fx)


def _voc_xml(imname: str, size: int, objects: list[VocObject]) -> bytes:
    """A PASCAL VOC annotation (1-based pixel boxes, truncated and occluded flags) of the objects."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "VOC2010"
    ET.SubElement(root, "filename").text = f"{imname}.jpg"
    src = ET.SubElement(root, "source")
    ET.SubElement(src, "database").text = "UnMask-TF synthetic"
    sz = ET.SubElement(root, "size")
    for tag, value in (("width", size), ("height", size), ("depth", 3)):
        ET.SubElement(sz, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for obj in objects:
        ys, xs = np.nonzero(obj.mask)
        box = (xs.min() + 1, ys.min() + 1, xs.max() + 1, ys.max() + 1)
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = obj.cls
        ET.SubElement(node, "pose").text = obj.pose
        ET.SubElement(node, "truncated").text = str(int(box[0] == 1 or box[1] == 1 or box[2] == size or box[3] == size))
        ET.SubElement(node, "occluded").text = str(int(obj.occluded))
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


@dataclass(frozen=True)
class VocObject:
    """An annotated object of a scene: class, VOC pose, visible pixels, whether something covers part of it."""

    cls: str
    pose: str
    mask: np.ndarray
    occluded: bool


@dataclass(frozen=True)
class Scene:
    """Everything written for one VOC-style scene, before encoding."""

    image: np.ndarray
    annotation: ImageAnnotation
    objects: list[VocObject]
    quality: int


def voc_scene(index: int, size: int, seed: int, classes: tuple[str, ...], difficulty: Difficulty) -> Scene:
    """VOC-style scene ``index``: 1 + extra objects of random classes; objects and parts are annotated
    with their visible pixels, and objects or parts with fewer than ``min_area`` of them are left out."""
    rng = np.random.default_rng([seed, STREAMS["voc"], index])
    picked = [str(rng.choice(classes))]
    for chance in difficulty.scenes.extra_objects:
        if rng.random() >= chance:
            break
        picked.append(str(rng.choice(classes)))
    image, canvas, poses = render_scene(picked, size, rng, "voc", difficulty.scenes)
    min_area = max(6, int(round(12 * (size / 128) ** 2)))
    masks = canvas.part_masks(min_area)
    parts, objects = [], []
    for obj, (cls, pose) in enumerate(zip(canvas.objects, poses)):
        silhouette = canvas.object_mask(obj)
        if silhouette.sum() < min_area:
            continue
        parts.append(ObjectAnnotation(cls, silhouette.astype(np.uint8),
                                      [PartAnnotation(name, mask.astype(np.uint8)) for o, name, mask in masks if o == obj]))
        objects.append(VocObject(cls, pose, silhouette, obj in canvas.occluded))
    return Scene(image, ImageAnnotation(image_id(index), parts), objects, int(rng.integers(80, 96)))


def folder_image(style: str, cls: str, index: int, size: int, seed: int, difficulty: Difficulty) -> tuple[np.ndarray, int]:
    """Single-object image ``index`` of ``cls`` in an ImageNet- or Flickr-style folder, and its JPEG quality."""
    rng = np.random.default_rng([seed, STREAMS[style], CLASSES.index(cls), index])
    image, _, _ = render_scene([cls], size, rng, style, difficulty.single)
    return image, int(rng.integers(75, 96))


def _voc_job(job: tuple[Path, int, int, int, tuple[str, ...], Difficulty]) -> int:
    """Write VOC-style scene ``index`` unless its three files exist; returns 1 if generated."""
    root, index, size, seed, classes, difficulty = job
    imname = image_id(index)
    paths = (root / "Annotations_Part" / f"{imname}.mat", root / "Annotations" / f"{imname}.xml",
             root / "JPEGImages" / f"{imname}.jpg")
    if all(p.exists() for p in paths):
        return 0
    scene = voc_scene(index, size, seed, classes, difficulty)
    tmp = paths[0].with_name(f".{imname}.mat.tmp")
    write_annotation(tmp, scene.annotation)
    tmp.replace(paths[0])
    write_bytes_atomic(paths[1], _voc_xml(imname, size, scene.objects), durable=False)
    write_bytes_atomic(paths[2], _jpeg(scene.image, scene.quality), durable=False)
    return 1


def _folder_job(job: tuple[Path, str, str, int, int, int, Difficulty]) -> int:
    """Write single-object image ``index`` of ``cls`` unless it exists; returns 1 if generated."""
    root, style, cls, index, size, seed, difficulty = job
    path = root / cls / f"{cls}_{index:05d}.jpg"
    if path.exists():
        return 0
    write_bytes_atomic(path, _jpeg(*folder_image(style, cls, index, size, seed, difficulty)), durable=False)
    return 1


def folder_classes() -> tuple[str, ...]:
    """Classes of the ImageNet- and Flickr-style folders: every class of the four class sets."""
    return tuple(sorted({cls for classes in CLASS_SETS.values() for cls in classes}))


def generate(out: Path, n_images: int = 2000, size: int = 128, seed: int = 0, imagenet_per_class: int = 60,
             flickr_per_class: int = 50, classes: tuple[str, ...] = CLASSES, workers: int = 1,
             difficulty: str = "hard") -> Path:
    """Generate the synthetic dataset under ``out`` and return ``out``.

    n_images: VOC-style scenes (PASCAL-Part + VOC annotations); imagenet_per_class, flickr_per_class:
    single-object images per class-set class; difficulty: a name of DIFFICULTIES (its knobs are recorded
    in synthetic.json). Re-running with the same size/seed/classes/difficulty only fills in missing
    files (so counts can grow); other options on an existing folder raise ValueError."""
    start = time.perf_counter()
    out = Path(out)
    unknown = set(classes) - set(CLASSES)
    if unknown:
        raise ValueError(f"cannot draw class(es) {sorted(unknown)}; drawable: {', '.join(CLASSES)}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {difficulty!r}; valid: {', '.join(DIFFICULTIES)}")
    level = DIFFICULTIES[difficulty]
    options = {"version": FORMAT_VERSION, "size": size, "seed": seed, "classes": list(classes),
               "difficulty": json.loads(json.dumps(asdict(level)))}
    manifest_path = out / "synthetic.json"
    previous = read_json(manifest_path)
    if previous is not None and previous.get("options") != options:
        raise ValueError(f"{out} holds a synthetic dataset generated with {previous.get('options')}, not {options}; "
                         "choose another --out or delete it")
    voc = out / "VOC2010"
    for sub in ("JPEGImages", "Annotations_Part", "Annotations"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    with job_map(workers) as run:
        made = {"voc": sum(run(_voc_job, [(voc, i, size, seed, tuple(classes), level) for i in range(n_images)]))}
        for style, per_class in (("imagenet", imagenet_per_class), ("flickr", flickr_per_class)):
            for cls in folder_classes():
                (out / style / cls).mkdir(parents=True, exist_ok=True)
            jobs = [(out / style, style, cls, i, size, seed, level) for cls in folder_classes() for i in range(per_class)]
            made[style] = sum(run(_folder_job, jobs))
    counts = {"voc": n_images, "imagenet_per_class": imagenet_per_class, "flickr_per_class": flickr_per_class}
    write_json_atomic(manifest_path, {"options": options, "counts": counts, "generated_now": made,
                                      "elapsed_s": round(time.perf_counter() - start, 2)})
    return out
