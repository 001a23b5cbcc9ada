"""Drawing surface of the synthetic dataset: an RGB canvas plus an owner map that records which part
instance painted each pixel, so every part mask is exactly its visible pixels (as in PASCAL-Part).

Parts are painted with textures (solid, stripes, dots, checker, fur, gradient, glass, ...) rendered only
inside the shape's bounding box. Sub-regions of a painted part (a train head's sides) and unions of
parts (a whole coach) are recorded as derived masks, the way PASCAL-Part overlays them.

``Effects`` holds the knobs of how hard an image is (scale, truncation, occlusion, pose, missing parts,
lighting, blur, noise); its defaults are the first generator's look.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

BACKGROUND = -1


@dataclass(frozen=True)
class Effects:
    """What makes one kind of image hard; the defaults are the first (easy) generator's look.

    Knobs the first generator lacked draw from a separate effects stream; the others (skew, brightness,
    contrast, blur, noise) only set the ranges of its own draws. So at the defaults the main stream is
    drawn exactly as before and the first generator's images come out unchanged."""

    extra_objects: tuple[float, ...] = ()
    """Chance of a 2nd, 3rd, ... annotated object in a scene, each given the one before."""
    scale: tuple[float, float] = (1.0, 1.0)
    """Range of a factor on each object's size (above 1 the object can overflow the image)."""
    truncation: float = 0.0
    """Chance that an object is pushed partly out of the image."""
    truncation_depth: tuple[float, float] = (0.15, 0.45)
    """Share of a truncated object's frame that lies outside the image."""
    occluders: float = 0.0
    """Mean number of clutter shapes painted over the objects (Poisson)."""
    occluder_size: tuple[float, float] = (0.15, 0.4)
    """Occluder extent as a share of the image side."""
    distractors: float = 0.0
    """Chance of a partly visible object of another class (drawn behind or in front, truncated)."""
    rotation: float = 0.0
    """Largest in-plane rotation of an object, in degrees."""
    skew: float = 0.12
    """Largest shear and tilt of an object's frame."""
    dropout: float = 0.0
    """Chance that each optional part (hair, ears, hands, feet, paws, tail, mirror, ...) is not there."""
    lighting: float = 0.0
    """Strength of uneven lighting: a brightness ramp and a soft shadow."""
    brightness: tuple[float, float] = (0.85, 1.15)
    """Range of the gain on the whole image."""
    contrast: tuple[float, float] = (0.85, 1.15)
    """Range of the contrast factor about the image mean."""
    blur: float = 0.4
    """Chance of a Gaussian blur, with sigma in ``blur_sigma``."""
    blur_sigma: tuple[float, float] = (0.4, 0.9)
    noise: float = 0.03
    """Largest standard deviation of the pixel noise."""


@dataclass(frozen=True)
class Difficulty:
    """A named level: the effects on VOC-style scenes (K's training and test data) and on the
    single-object ImageNet/Flickr-style images (M's extra training data and UnMask's test images)."""

    name: str
    scenes: Effects = field(default_factory=Effects)
    single: Effects = field(default_factory=Effects)


@dataclass(frozen=True)
class Texture:
    """A fill pattern: ``kind`` with colours ``a`` and ``b`` (RGB in [0,1]), a period in pixels,
    an orientation in radians and a per-pixel noise amplitude."""

    kind: str
    a: tuple[float, float, float]
    b: tuple[float, float, float] = (0.0, 0.0, 0.0)
    period: float = 6.0
    angle: float = 0.0
    noise: float = 0.03

    def render(self, y0: int, x0: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """The (h, w, 3) float32 fill of the box at (y0, x0), in canvas coordinates."""
        ys, xs = np.mgrid[y0:y0 + h, x0:x0 + w].astype(np.float32)
        t = xs * np.cos(self.angle) + ys * np.sin(self.angle)
        a, b = np.asarray(self.a, np.float32), np.asarray(self.b, np.float32)
        if self.kind == "solid":
            mix = np.zeros_like(t)
        elif self.kind == "stripes":
            mix = (np.sin(t * 2 * np.pi / self.period) > 0).astype(np.float32)
        elif self.kind == "dots":
            u = xs % self.period - self.period / 2
            v = ys % self.period - self.period / 2
            mix = ((u * u + v * v) < (self.period * 0.3) ** 2).astype(np.float32)
        elif self.kind == "checker":
            mix = ((np.floor(xs / self.period) + np.floor(ys / self.period)) % 2).astype(np.float32)
        elif self.kind == "gradient":
            span = max(float(t.max() - t.min()), 1.0)
            mix = (t - t.min()) / span
        elif self.kind == "glass":
            span = max(float(t.max() - t.min()), 1.0)
            mix = (t - t.min()) / span
            mix = np.where(np.abs(mix - 0.35) < 0.08, -1.5, mix)
        elif self.kind == "fur":
            raw = rng.random((h + 4, w + 4), np.float32)
            k = max(int(self.period), 2)
            mix = cv2.blur(raw, (k, 1) if abs(np.cos(self.angle)) > 0.7 else (1, k))[2:2 + h, 2:2 + w]
            mix = np.clip((mix - 0.5) * 4 + 0.5, 0, 1)
        elif self.kind == "scales":
            u = xs % self.period
            v = (ys + (np.floor(xs / self.period) % 2) * self.period / 2) % self.period
            mix = (((u - self.period / 2) ** 2 + v * v) < (self.period * 0.55) ** 2).astype(np.float32)
        else:
            raise ValueError(f"unknown texture kind {self.kind!r}")
        fill = a + mix[..., None] * (b - a)
        if self.noise:
            fill = fill + rng.normal(0, self.noise, fill.shape).astype(np.float32)
        return fill


class Canvas:
    """RGB image + owner map + registry of objects and part instances."""

    def __init__(self, image: np.ndarray, rng: np.random.Generator):
        self.image = image.astype(np.float32)
        self.size = image.shape[0]
        self.owner = np.full(image.shape[:2], BACKGROUND, np.int32)
        self.rng = rng
        self.objects: list[str] = []
        self.parts: list[tuple[int, str | None]] = []
        self.derived: list[tuple[int, str, str, object]] = []
        self.occluded: set[int] = set()

    def new_object(self, cls: str) -> int:
        """Register an object of class ``cls``; returns its index."""
        self.objects.append(cls)
        return len(self.objects) - 1

    def new_part(self, obj: int, name: str | None) -> int:
        """Register a part instance; name None marks object pixels that belong to no annotated part."""
        self.parts.append((obj, name))
        return len(self.parts) - 1

    def paint(self, pid: int, shape: np.ndarray, texture: Texture) -> None:
        """Fill ``shape`` (uint8/bool mask) with ``texture`` and hand its pixels to part ``pid``
        (``BACKGROUND`` for clutter, which erases what it covers). Objects it covers pixels of (other
        than the painting part's own) are marked occluded."""
        ys, xs = np.nonzero(shape)
        if ys.size == 0:
            return
        painter = self.parts[pid][0] if pid >= 0 else None
        covered = np.unique(self.owner[ys, xs])
        self.occluded.update(self.parts[c][0] for c in covered[covered >= 0] if self.parts[c][0] != painter)
        y0, x0, y1, x1 = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
        fill = texture.render(y0, x0, y1 - y0, x1 - x0, self.rng)
        self.image[ys, xs] = fill[ys - y0, xs - x0]
        self.owner[ys, xs] = pid

    def add_region(self, obj: int, name: str, parent: int, shape: np.ndarray) -> None:
        """A derived part: the visible pixels of ``parent`` inside ``shape``."""
        self.derived.append((obj, name, "region", (parent, shape.astype(bool))))

    def add_union(self, obj: int, name: str, members: list[int]) -> None:
        """A derived part: the union of the visible pixels of ``members``."""
        self.derived.append((obj, name, "union", list(members)))

    def part_masks(self, min_area: int) -> list[tuple[int, str, np.ndarray]]:
        """(object, raw part name, mask) of every annotated part with at least ``min_area`` pixels."""
        out = []
        for pid, (obj, name) in enumerate(self.parts):
            if name is not None:
                out.append((obj, name, self.owner == pid))
        for obj, name, kind, data in self.derived:
            if kind == "region":
                parent, shape = data
                mask = (self.owner == parent) & shape
            else:
                mask = np.isin(self.owner, data)
            out.append((obj, name, mask))
        return [(o, n, m) for o, n, m in out if int(m.sum()) >= min_area]

    def object_mask(self, obj: int) -> np.ndarray:
        """All visible pixels of object ``obj``."""
        pids = [pid for pid, (o, _) in enumerate(self.parts) if o == obj]
        return np.isin(self.owner, pids)


def shape_mask(size: int, draw) -> np.ndarray:
    """A uint8 mask of ``size`` x ``size`` drawn by ``draw(buffer)`` (cv2 calls with colour 1)."""
    buffer = np.zeros((size, size), np.uint8)
    draw(buffer)
    return buffer


def jitter(rgb, rng: np.random.Generator, amount: float = 0.08) -> tuple[float, float, float]:
    """A colour near ``rgb``."""
    return tuple(float(v) for v in np.clip(np.asarray(rgb) + rng.uniform(-amount, amount, 3), 0, 1))


def shade(rgb, factor: float) -> tuple[float, float, float]:
    """``rgb`` darkened (factor < 1) or lightened towards white (factor > 1)."""
    rgb = np.asarray(rgb, np.float32)
    out = rgb * factor if factor <= 1 else rgb + (1 - rgb) * (factor - 1)
    return tuple(float(v) for v in np.clip(out, 0, 1))


def random_colour(rng: np.random.Generator, sat: tuple[float, float] = (0.5, 1.0),
                  val: tuple[float, float] = (0.4, 1.0)) -> tuple[float, float, float]:
    """A random colour from hue, saturation and value ranges."""
    hsv = np.uint8([[[rng.integers(0, 180), rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]])
    return tuple(float(v) / 255 for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A noisy background: gradient, horizon or low-contrast pattern, plus smooth and fine noise."""
    kind = rng.choice(["gradient", "horizon", "pattern"])
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    c1, c2 = (np.asarray(random_colour(rng, (0.0, 0.6), (0.25, 0.95)), np.float32) for _ in range(2))
    if kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        t = xs * np.cos(angle) + ys * np.sin(angle)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    elif kind == "horizon":
        t = (ys > rng.uniform(0.3, 0.7)).astype(np.float32)
    else:
        texture = Texture(rng.choice(["stripes", "checker", "dots"]), tuple(c1), tuple(c1 * 0.8 + c2 * 0.2),
                          float(rng.uniform(6, 20)), float(rng.uniform(0, np.pi)), 0.0)
        base = texture.render(0, 0, size, size, rng)
        t = None
    image = base if t is None else c1 + t[..., None] * (c2 - c1)
    smooth = cv2.resize(rng.normal(0, 0.08, (6, 6, 3)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(image + smooth + rng.normal(0, 0.03, image.shape).astype(np.float32), 0, 1)


def random_blob(size: int, rng: np.random.Generator, scale: tuple[float, float],
                centre: tuple[int, int] | None = None) -> np.ndarray:
    """A random ellipse, polygon or thick line of roughly ``scale`` x size pixels around ``centre``
    (x, y; default: anywhere)."""
    extent = int(rng.uniform(*scale) * size) + 2
    cx, cy = (int(v) for v in rng.integers(0, size, 2)) if centre is None else centre
    kind = rng.integers(0, 3)

    def draw(buffer: np.ndarray) -> None:
        if kind == 0:
            axes = (max(extent // 2, 1), max(int(extent * rng.uniform(0.2, 0.6)), 1))
            cv2.ellipse(buffer, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        elif kind == 1:
            pts = np.array([cx, cy]) + rng.integers(-extent, extent + 1, (int(rng.integers(3, 6)), 2))
            cv2.fillPoly(buffer, [pts.astype(np.int32)], 1)
        else:
            end = np.array([cx, cy]) + rng.integers(-extent, extent + 1, 2)
            cv2.line(buffer, (cx, cy), (int(end[0]), int(end[1])), 1, int(rng.integers(2, 5)))

    return shape_mask(size, draw)


def clutter_texture(rng: np.random.Generator) -> Texture:
    """A random texture for clutter (any kind, any colour)."""
    return Texture(str(rng.choice(["solid", "stripes", "dots", "gradient", "checker"])),
                   random_colour(rng, (0, 1), (0.2, 1)), random_colour(rng, (0, 1), (0.2, 1)),
                   float(rng.uniform(3, 10)), float(rng.uniform(0, np.pi)), 0.03)


def light_field(size: int, rng: np.random.Generator, strength: float) -> np.ndarray:
    """An (size, size, 1) uneven-lighting gain: a brightness ramp in a random direction and a soft shadow."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, 2 * np.pi)
    ramp = xs * np.cos(angle) + ys * np.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    shadow = cv2.GaussianBlur(random_blob(size, rng, (0.3, 0.7)).astype(np.float32), (0, 0), size / 12)
    gain = 1 + strength * rng.uniform(0.3, 1.0) * (ramp - 0.5) - strength * rng.uniform(0.2, 0.8) * shadow
    return gain[..., None]


def finish(image: np.ndarray, rng: np.random.Generator, style: str, effects: Effects = Effects(),
           fx: np.random.Generator | None = None) -> np.ndarray:
    """Camera-like post-processing: colour and contrast jitter, uneven lighting (``effects.lighting``,
    drawn from ``fx``), blur, noise; 'flickr' adds a colour cast and a vignette. Returns uint8 RGB."""
    image = image * rng.uniform(*effects.brightness) + rng.uniform(-0.06, 0.06)
    image = (image - image.mean()) * rng.uniform(*effects.contrast) + image.mean()
    if effects.lighting:
        image = image * light_field(image.shape[0], fx, effects.lighting)
    if style == "flickr":
        image = image * np.asarray(jitter((1.0, 0.95, 0.85) if rng.random() < 0.5 else (0.85, 0.95, 1.05), rng, 0.05), np.float32)
        size = image.shape[0]
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
        image = image * (1 - rng.uniform(0.2, 0.6) * (xs * xs + ys * ys))[..., None]
    if rng.random() < effects.blur:
        k = 2 * max(1, int(round(1.5 * effects.blur_sigma[1]))) + 1
        image = cv2.GaussianBlur(image, (k, k), rng.uniform(*effects.blur_sigma))
    image = image + rng.normal(0, rng.uniform(0.0, effects.noise), image.shape).astype(np.float32)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
