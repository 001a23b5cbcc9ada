"""The synthetic objects: each class drawn as a composition of its PASCAL-Part parts.

Every part has its own geometry, colour and texture family and sits where it belongs on the object
(wheels under a car body, a beak on a bird's head, paws under legs). Small parts (eyes, eyebrows, nose,
mirrors, plates) are exaggerated to at least ``floor`` pixels (8 px at 128 px). Raw part names are
PASCAL-Part's (lfpa, llleg, cleftside_1, wheel_2, fliplate, lebrow, ...), with the side named after
the side that faces the viewer: an object facing right (front at the image's right) shows its right side.
A drawer can rotate its object and leave optional parts out (``Drawer.rotation``, ``Drawer.dropout``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from dataset_tools.part_names import generalize
from dataset_tools.synth_canvas import Canvas, Texture, jitter, random_colour, shade, shape_mask

# Height / width of each class's frame (the box the drawing fills).
ASPECT = {"car": 0.62, "train": 0.5, "person": 1.75, "dog": 0.78, "bird": 0.9, "bottle": 3.0}

OPTIONAL_PARTS = frozenset({"hair", "ear", "eyebrow", "mouth", "hand", "foot", "paw", "tail", "wing", "mirror",
                            "licenseplate", "headlight", "door", "cap"})
"""Generalized parts an object can lack in a photo (hidden, cropped by a pose, or simply not there)."""


@dataclass
class Drawer:
    """Draws one object into a canvas inside the frame (x0, y0, w, h).

    Local coordinates: u runs from the object's back (0) to its front (1), v from top (0) to bottom (1);
    ``facing`` = +1 puts the front on the image's right, -1 mirrors everything. ``shear`` and ``tilt``
    skew the local frame (u += shear (v - 1/2), v += tilt (u - 1/2)) so no two objects share a layout;
    ``rotation`` (degrees, clockwise on screen) turns it about the frame's centre. Each optional part is
    left out with probability ``dropout``, drawn from ``fx`` (the image's effects stream)."""

    canvas: Canvas
    obj: int
    x0: float
    y0: float
    w: float
    h: float
    facing: int
    floor: float
    shear: float = 0.0
    tilt: float = 0.0
    rotation: float = 0.0
    dropout: float = 0.0
    fx: np.random.Generator | None = None
    dropped: set[int] = field(default_factory=set)

    @property
    def rng(self) -> np.random.Generator:
        return self.canvas.rng

    @property
    def near(self) -> str:
        """'r' or 'l': the side of the object that faces the viewer."""
        return "r" if self.facing > 0 else "l"

    @property
    def far(self) -> str:
        return "l" if self.facing > 0 else "r"

    def p(self, u: float, v: float) -> tuple[float, float]:
        u, v = u + self.shear * (v - 0.5), v + self.tilt * (u - 0.5)
        x, y = self.x0 + (u if self.facing > 0 else 1 - u) * self.w, self.y0 + v * self.h
        if not self.rotation:
            return x, y
        c, s = np.cos(np.radians(self.rotation)), np.sin(np.radians(self.rotation))
        dx, dy = x - self.x0 - self.w / 2, y - self.y0 - self.h / 2
        return self.x0 + self.w / 2 + c * dx - s * dy, self.y0 + self.h / 2 + s * dx + c * dy

    def _pts(self, uvs) -> np.ndarray:
        return np.array([self.p(u, v) for u, v in uvs], np.float32).round().astype(np.int32)

    def poly(self, uvs) -> np.ndarray:
        return shape_mask(self.canvas.size, lambda b: cv2.fillPoly(b, [self._pts(uvs)], 1))

    def ellipse(self, u: float, v: float, rx: float, ry: float, angle: float = 0.0) -> np.ndarray:
        """Ellipse centred at (u, v) with radii in pixels; ``angle`` in degrees, mirrored with facing."""
        x, y = self.p(u, v)
        axes = (max(int(round(rx)), 1), max(int(round(ry)), 1))
        return shape_mask(self.canvas.size, lambda b: cv2.ellipse(
            b, (int(round(x)), int(round(y))), axes, angle * self.facing + self.rotation, 0, 360, 1, -1))

    def line(self, uvs, width: float) -> np.ndarray:
        """A thick polyline through the points (u, v)."""
        pts = self._pts(uvs)

        def draw(b):
            for a, c in zip(pts[:-1], pts[1:]):
                cv2.line(b, tuple(int(t) for t in a), tuple(int(t) for t in c), 1, max(int(round(width)), 1))
        return shape_mask(self.canvas.size, draw)

    def part(self, name: str | None, mask: np.ndarray, texture: Texture) -> int:
        """Register part ``name`` and paint it, unless it is optional and drops out; returns its id."""
        pid = self.canvas.new_part(self.obj, name)
        if self.dropout and name is not None and generalize(name) in OPTIONAL_PARTS and self.fx.random() < self.dropout:
            self.dropped.add(pid)
        else:
            self.canvas.paint(pid, mask, texture)
        return pid

    def deco(self, pid: int, mask: np.ndarray, texture: Texture) -> None:
        """Paint more of an existing part (details that belong to it; nothing if it dropped out)."""
        if pid not in self.dropped:
            self.canvas.paint(pid, mask, texture)

    def small(self, px: float, share: float = 1.0) -> float:
        """A size of at least ``share`` x floor pixels."""
        return max(px, share * self.floor)


def _solid(rgb, noise: float = 0.03) -> Texture:
    return Texture("solid", rgb, noise=noise)


def draw_car(d: Drawer) -> str:
    rng = d.rng
    view = str(rng.choice(["front", "back", "side"], p=[0.45, 0.3, 0.25]))
    paint = random_colour(rng, (0.5, 1.0), (0.35, 0.95))
    face = 0.2
    u0, u1 = {"front": (0.0, 1 - face), "back": (face, 1.0), "side": (0.0, 1.0)}[view]

    def s(a: float, v: float) -> tuple[float, float]:  # along the side panel, rear (0) to front (1)
        return (u0 + a * (u1 - u0), v)

    side_w = (u1 - u0) * d.w
    body = [s(0, 0.5), s(0.03, 0.44), s(0.18, 0.42), s(0.30, 0.22), s(0.68, 0.22), s(0.84, 0.42),
            s(0.98, 0.46), s(1, 0.54), s(1, 0.8), s(0, 0.8)]
    d.part(f"{'right' if d.facing > 0 else 'left'}side", d.poly(body),
           Texture("gradient", shade(paint, 1.25), shade(paint, 0.75), angle=np.pi / 2))
    glass = Texture("glass", (0.62, 0.76, 0.9), (0.15, 0.22, 0.35), angle=float(rng.uniform(0.3, 1.2)))
    windows = [[s(0.32, 0.26), s(0.48, 0.26), s(0.48, 0.41), s(0.23, 0.41)],
               [s(0.52, 0.26), s(0.66, 0.26), s(0.78, 0.41), s(0.52, 0.41)]]
    for k, quad in enumerate(windows, 1):
        d.part(f"window_{k}", d.poly(quad), glass)
    door_colour = shade(paint, 0.85)
    for k, (a, b) in enumerate([(0.25, 0.5), (0.52, 0.77)], 1):
        pid = d.part(f"door_{k}", d.poly([s(a, 0.44), s(b, 0.44), s(b, 0.74), s(a + 0.02, 0.74)]),
                     Texture("stripes", door_colour, shade(paint, 0.65), period=9, angle=np.pi / 2, noise=0.02))
        d.deco(pid, d.ellipse(*s(b - 0.06, 0.5), d.small(0.025 * side_w, 0.3), 1.5), _solid((0.85, 0.85, 0.85)))
    d.part(f"{'right' if d.facing > 0 else 'left'}mirror",
           d.ellipse(*s(0.84, 0.38), d.small(0.04 * d.w, 0.55), d.small(0.035 * d.h, 0.45), 20), _solid(shade(paint, 0.4)))
    r = 0.17 * d.h
    for k, a in enumerate([0.2, 0.8], 1):
        pid = d.part(f"wheel_{k}", d.ellipse(*s(a, 0.8), r, r), _solid((0.08, 0.08, 0.08)))
        d.deco(pid, d.ellipse(*s(a, 0.8), 0.55 * r, 0.55 * r), Texture("stripes", (0.75, 0.75, 0.78), (0.4, 0.4, 0.42), period=3, angle=0.8))
    light = Texture("gradient", (1.0, 1.0, 0.85), (0.95, 0.8, 0.3), noise=0.02)
    plate = Texture("stripes", (0.95, 0.95, 0.9), (0.1, 0.1, 0.1), period=3.0, angle=0.0, noise=0.02)
    if view == "side":
        d.part("headlight_1", d.ellipse(*s(0.97, 0.52), d.small(0.025 * d.w, 0.5), d.small(0.03 * d.h, 0.5)), light)
        return "Right" if d.facing > 0 else "Left"
    f0, f1 = (1 - face, 1.0) if view == "front" else (0.0, face)
    near_end = 1 if view == "front" else 0  # the face edge shared with the side panel
    ua, ub = (f0, f1) if near_end else (f1, f0)  # ua touches the side, ub is the far corner
    face_quad = [(ua, 0.46), (ub, 0.5), (ub, 0.84), (ua, 0.8)]
    roof_shift = 0.06 if view == "front" else -0.06
    roof = [s(0.30, 0.22), s(0.68, 0.22), (s(0.68, 0.22)[0] + roof_shift, 0.1), (s(0.30, 0.22)[0] + roof_shift, 0.1)]
    d.part("roofside", d.poly(roof), Texture("gradient", shade(paint, 1.4), shade(paint, 1.1), angle=np.pi / 2))
    fw = face * d.w
    hr = d.small(0.11 * fw, 0.5)
    if view == "front":
        pid = d.part("frontside", d.poly(face_quad), _solid(shade(paint, 0.7)))
        d.deco(pid, d.poly([(ua + (ub - ua) * 0.3, 0.6), (ua + (ub - ua) * 0.75, 0.61), (ua + (ub - ua) * 0.75, 0.68),
                            (ua + (ub - ua) * 0.3, 0.67)]), Texture("stripes", (0.15, 0.15, 0.15), (0.45, 0.45, 0.45), period=3, angle=np.pi / 2))
        for k, t in enumerate([0.22, 0.8], 1):
            d.part(f"headlight_{k}", d.ellipse(ua + (ub - ua) * t, 0.54, hr * 1.2, hr * 0.8), light)
        d.part("fliplate", d.ellipse(ua + (ub - ua) * 0.5, 0.75, d.small(0.22 * fw, 0.7), d.small(0.07 * d.h, 0.4)), plate)
        return "Frontal"
    pid = d.part("backside", d.poly(face_quad), _solid(shade(paint, 0.65)))
    for t in (0.2, 0.82):
        d.deco(pid, d.ellipse(ua + (ub - ua) * t, 0.56, hr * 1.1, hr * 0.7), _solid((0.8, 0.05, 0.05)))
    d.part("bliplate", d.ellipse(ua + (ub - ua) * 0.5, 0.7, d.small(0.22 * fw, 0.7), d.small(0.07 * d.h, 0.4)), plate)
    return "Rear"


def _coach(d: Drawer, k: int, a: float, b: float, livery, roof_shift: float) -> list[int]:
    """One coach side (+ windows, band, bogies) and roof between u = a and b; returns its part ids."""
    side = "rightside" if d.facing > 0 else "leftside"
    pid_side = d.part(f"c{side}_{k}", d.poly([(a, 0.28), (b, 0.28), (b, 0.86), (a, 0.86)]),
                      Texture("gradient", shade(livery, 1.1), shade(livery, 0.8), angle=np.pi / 2))
    d.deco(pid_side, d.poly([(a, 0.62), (b, 0.62), (b, 0.68), (a, 0.68)]), _solid((0.95, 0.95, 0.95)))
    n = 3
    for i in range(n):
        wa = a + (b - a) * (0.08 + i * 0.31)
        d.deco(pid_side, d.poly([(wa, 0.36), (wa + (b - a) * 0.22, 0.36), (wa + (b - a) * 0.22, 0.54), (wa, 0.54)]),
               Texture("glass", (0.55, 0.68, 0.8), (0.1, 0.15, 0.25), angle=1.0))
    d.deco(pid_side, d.poly([(a + 0.02, 0.84), (b - 0.02, 0.84), (b - 0.02, 0.9), (a + 0.02, 0.9)]), _solid((0.12, 0.12, 0.12)))
    pid_roof = d.part(f"croofside_{k}", d.poly([(a, 0.28), (b, 0.28), (b + roof_shift, 0.14), (a + roof_shift, 0.14)]),
                      Texture("stripes", (0.6, 0.6, 0.62), (0.45, 0.45, 0.48), period=4, angle=0.0))
    return [pid_side, pid_roof]


def _coach_end(d: Drawer, k: int, name: str, a: float, b: float, livery) -> int:
    pid = d.part(f"{name}_{k}", d.poly([(a, 0.3), (b, 0.26), (b, 0.84), (a, 0.88)]), _solid(shade(livery, 0.55)))
    m = (a + b) / 2
    d.deco(pid, d.poly([(m - 0.03, 0.4), (m + 0.03, 0.4), (m + 0.03, 0.8), (m - 0.03, 0.8)]), _solid((0.2, 0.2, 0.22)))
    return pid


def draw_train(d: Drawer) -> str:
    rng = d.rng
    view = str(rng.choice(["front", "back", "coaches"], p=[0.55, 0.25, 0.2]))
    livery = random_colour(rng, (0.5, 1.0), (0.4, 0.95))
    side = "rightside" if d.facing > 0 else "leftside"
    coaches = {"front": [(-0.28, 0.14), (0.16, 0.5)], "back": [(0.16, 0.5), (0.52, 0.86)],
               "coaches": [(-0.2, 0.16), (0.18, 0.52), (0.54, 0.84)]}[view]
    coach_ids = []
    for k, (a, b) in enumerate(coaches, 1):
        pids = _coach(d, k, a, b, livery, 0.04)
        coach_ids.append((k, pids))
    if view == "back":
        coach_ids[0][1].append(_coach_end(d, 1, "cbackside", 0.0, 0.16, livery))
    if view == "coaches":
        k, pids = coach_ids[-1]
        pids.append(_coach_end(d, k, "cfrontside", 0.84, 1.0, livery))
    for k, pids in coach_ids:
        d.canvas.add_union(d.obj, f"coach_{k}", pids)
    if view == "coaches":
        return "Right" if d.facing > 0 else "Left"
    a, b = (0.52, 0.84) if view == "front" else (0.88, 1.2)
    nose = random_colour(rng, (0.6, 1.0), (0.7, 1.0)) if rng.random() < 0.5 else (0.95, 0.8, 0.1)
    head_side = d.poly([(a, 0.26), (b, 0.26), (b, 0.86), (a, 0.86)])
    head_roof = d.poly([(a, 0.26), (b, 0.26), (b + 0.04, 0.12), (a + 0.04, 0.12)])
    pid = d.part("head", head_side, Texture("gradient", shade(livery, 1.2), shade(livery, 0.7), angle=0.3))
    d.deco(pid, d.poly([(a + 0.02, 0.6), (b, 0.6), (b, 0.7), (a + 0.02, 0.7)]), _solid(nose))
    d.deco(pid, d.poly([(b - 0.1, 0.34), (b - 0.02, 0.34), (b - 0.02, 0.5), (b - 0.1, 0.5)]), _solid((0.1, 0.12, 0.2)))
    d.deco(pid, head_roof, Texture("stripes", (0.4, 0.4, 0.42), (0.3, 0.3, 0.3), period=3, angle=0.0))
    d.canvas.add_region(d.obj, "h" + side, pid, head_side)
    d.canvas.add_region(d.obj, "hroofside", pid, head_roof)
    if view == "back":
        return "Rear"
    head_face = d.poly([(0.84, 0.26), (1.0, 0.3), (1.0, 0.9), (0.84, 0.86)])
    d.deco(pid, head_face, _solid(nose))
    d.deco(pid, d.poly([(0.86, 0.34), (0.98, 0.37), (0.98, 0.55), (0.86, 0.52)]), Texture("glass", (0.5, 0.6, 0.75), (0.05, 0.08, 0.15), angle=1.0))
    d.canvas.add_region(d.obj, "hfrontside", pid, head_face)
    r = d.small(0.018 * d.w, 0.5)
    light = Texture("gradient", (1.0, 1.0, 0.9), (0.95, 0.85, 0.4), noise=0.02)
    for k, u in enumerate([0.885, 0.955], 1):
        d.part(f"headlight_{k}", d.ellipse(u, 0.72, r, r), light)
    return "Frontal"


SKINS = ((0.96, 0.8, 0.69), (0.87, 0.67, 0.5), (0.65, 0.45, 0.3), (0.45, 0.3, 0.2))
HAIRS = ((0.08, 0.06, 0.05), (0.35, 0.2, 0.08), (0.85, 0.7, 0.35), (0.6, 0.2, 0.05), (0.6, 0.6, 0.6))
TROUSERS = ((0.2, 0.3, 0.55), (0.1, 0.1, 0.12), (0.6, 0.5, 0.3), (0.4, 0.4, 0.42))


def draw_person(d: Drawer) -> str:
    rng = d.rng
    h = d.h
    cx = d.x0 + d.w / 2

    def q(a: float, b: float) -> tuple[float, float]:
        """(a, b) in units of the person's height from the centre line (a > 0: person's left = image right)."""
        return ((cx - d.x0 + a * h) / d.w if d.facing > 0 else 1 - (cx - d.x0 + a * h) / d.w, b)

    skin = jitter(SKINS[rng.integers(len(SKINS))], rng, 0.04)
    shirt = random_colour(rng, (0.4, 1.0), (0.3, 1.0))
    sleeve = shade(shirt, 0.7)
    trousers = jitter(TROUSERS[rng.integers(len(TROUSERS))], rng, 0.05)
    shoes = jitter(((0.1, 0.07, 0.05), (0.9, 0.9, 0.9), (0.3, 0.15, 0.1))[rng.integers(3)], rng, 0.04)
    hair = jitter(HAIRS[rng.integers(len(HAIRS))], rng, 0.04)
    ew = d.small(0.07 * h)
    head_rx = max(0.125 * h, 1.8 * ew)
    head_ry = max(0.145 * h, 1.8 * ew)
    head_v = head_ry / h + 0.01
    side = {+1: "l", -1: "r"}
    # legs and feet
    for sgn in (+1, -1):
        hip = np.array([sgn * 0.06, 0.6])
        ang = np.radians(rng.uniform(0, 14)) * sgn
        knee = hip + 0.17 * np.array([np.sin(ang), np.cos(ang)])
        ang2 = ang + np.radians(rng.uniform(-6, 6))
        ankle = knee + 0.15 * np.array([np.sin(ang2), np.cos(ang2)])
        lw = d.small(0.07 * h, 0.7)
        denim = Texture("fur", trousers, shade(trousers, 0.8), period=3, angle=np.pi / 2, noise=0.03)
        d.part(f"{side[sgn]}uleg", d.line([q(*hip), q(*knee)], lw), denim)
        d.part(f"{side[sgn]}lleg", d.line([q(*knee), q(*ankle)], lw * 0.9), denim)
        foot_u, foot_v = q(ankle[0] + sgn * 0.025, ankle[1] + 0.02)
        d.part(f"{side[sgn]}foot", d.ellipse(foot_u, foot_v, d.small(0.05 * h, 0.7), d.small(0.025 * h, 0.4)), _solid(shoes))
    shirt_tex = Texture(str(rng.choice(["solid", "stripes", "checker", "dots"])), shirt, shade(shirt, 0.6),
                        period=float(rng.uniform(4, 7)), angle=float(rng.choice([0.0, np.pi / 2, 0.8])))
    neck_top = head_v + head_ry / h - 0.03
    d.part("neck", d.poly([q(-0.045, neck_top), q(0.045, neck_top), q(0.05, 0.35), q(-0.05, 0.35)]), _solid(shade(skin, 0.88)))
    d.part("torso", d.poly([q(-0.15, 0.34), q(0.15, 0.34), q(0.12, 0.62), q(-0.12, 0.62)]), shirt_tex)
    for sgn in (+1, -1):
        shoulder = np.array([sgn * 0.15, 0.37])
        ang = np.radians(rng.uniform(8, 70) if rng.random() < 0.8 else rng.uniform(90, 150)) * sgn
        elbow = shoulder + 0.14 * np.array([np.sin(ang), np.cos(ang)])
        ang2 = ang + np.radians(rng.uniform(-20, 50)) * sgn
        wrist = elbow + 0.13 * np.array([np.sin(ang2), np.cos(ang2)])
        aw = d.small(0.055 * h, 0.6)
        d.part(f"{side[sgn]}uarm", d.line([q(*shoulder), q(*elbow)], aw), _solid(sleeve))
        d.part(f"{side[sgn]}larm", d.line([q(*elbow), q(*wrist)], aw * 0.9), _solid(shade(sleeve, 0.85)))
        hand = wrist + 0.02 * np.array([np.sin(ang2), np.cos(ang2)])
        d.part(f"{side[sgn]}hand", d.ellipse(*q(*hand), d.small(0.035 * h, 0.55), d.small(0.035 * h, 0.55)), _solid(skin))
    # head and face
    ear_a = head_rx / h + 0.01
    for sgn in (+1, -1):
        d.part(f"{side[sgn]}ear", d.ellipse(*q(sgn * ear_a, head_v + 0.01), d.small(0.045 * h, 0.5), d.small(0.06 * h, 0.8)),
               _solid(shade(skin, 0.8)))
    d.part("head", d.ellipse(*q(0, head_v), head_rx, head_ry), Texture("gradient", skin, shade(skin, 0.9), angle=np.pi / 2, noise=0.02))
    hair_mask = d.ellipse(*q(0, head_v - 0.01), head_rx * 1.08, head_ry * 1.02)
    cut = int(d.y0 + (head_v - head_ry / h * rng.uniform(0.35, 0.55)) * h)
    hair_mask[max(cut, 0):] = 0
    d.part("hair", hair_mask, Texture("stripes", hair, shade(hair, 0.6), period=2.5, angle=float(rng.uniform(1.2, 1.9))))
    eye_dx = max(0.05 * h, ew / 2 + 1) / h
    eye_v = head_v + 0.1 * head_ry / h
    for sgn in (+1, -1):
        pid = d.part(f"{side[sgn]}eye", d.ellipse(*q(sgn * eye_dx, eye_v), ew / 2, ew * 0.32), _solid((0.97, 0.97, 0.97), 0.02))
        d.deco(pid, d.ellipse(*q(sgn * eye_dx, eye_v), ew * 0.2, ew * 0.2), _solid((0.15, 0.3, 0.45) if rng.random() < 0.4 else (0.25, 0.15, 0.08)))
        brow_v = eye_v - (ew * 0.32 + d.small(0.02 * h, 0.3)) / h - 0.01
        d.part(f"{side[sgn]}ebrow", d.line([q(sgn * (eye_dx - ew / 2 / h), brow_v + 0.005), q(sgn * (eye_dx + ew / 2 / h), brow_v - 0.005)],
                                           d.small(0.022 * h, 0.35)), _solid(shade(hair, 0.6)))
    nose_w = d.small(0.045 * h, 0.8) / h
    nose_top, nose_bottom = eye_v + 0.01, eye_v + max(0.06, 1.3 * nose_w)
    d.part("nose", d.poly([q(0, nose_top), q(nose_w / 2, nose_bottom), q(-nose_w / 2, nose_bottom)]), _solid(shade(skin, 0.7)))
    mouth_v = min(nose_bottom + 0.04, head_v + 0.8 * head_ry / h)
    d.part("mouth", d.ellipse(*q(0, mouth_v), d.small(0.045 * h, 0.6), d.small(0.016 * h, 0.3)), _solid((0.75, 0.15, 0.2)))
    return "Frontal"


FURS = ((0.55, 0.35, 0.15), (0.9, 0.75, 0.45), (0.15, 0.12, 0.1), (0.88, 0.87, 0.83), (0.5, 0.5, 0.5))


def draw_dog(d: Drawer) -> str:
    rng = d.rng
    fur = jitter(FURS[rng.integers(len(FURS))], rng, 0.05)
    light = shade(fur, 1.5)
    fur_tex = Texture("fur", fur, shade(fur, 0.75), period=4, angle=0.0, noise=0.03)
    leg_w = d.small(0.075 * d.w, 0.6)
    paw_tex = _solid(shade(light, 1.2))
    d.part("tail", d.line([(0.15, 0.42), (0.06, 0.3), (0.03, 0.12)], d.small(0.05 * d.w, 0.6)), Texture("fur", shade(fur, 0.8), fur, period=3, angle=1.2))
    for depth, side in ((0, d.far), (1, d.near)):
        tone = 0.75 if depth == 0 else 1.0
        for name, u in (("f", 0.66 - 0.04 * depth), ("b", 0.2 + 0.04 * depth)):
            d.part(f"{side}{name}leg", d.line([(u, 0.52), (u, 0.86)], leg_w),
                   Texture("fur", shade(fur, tone), shade(fur, 0.7 * tone), period=3, angle=np.pi / 2))
            d.part(f"{side}{name}pa", d.ellipse(u + 0.015, 0.9, d.small(0.055 * d.w, 0.6), d.small(0.05 * d.h, 0.45)), paw_tex)
        if depth == 0:
            d.part("torso", d.ellipse(0.42, 0.47, 0.3 * d.w, 0.19 * d.h), fur_tex)
    pid = d.part("neck", d.poly([(0.58, 0.36), (0.7, 0.2), (0.84, 0.3), (0.72, 0.56)]), Texture("fur", shade(fur, 0.9), fur, period=3, angle=1.0))
    d.deco(pid, d.line([(0.66, 0.3), (0.76, 0.5)], d.small(0.03 * d.w, 0.35)), _solid((0.8, 0.1, 0.1)))
    floppy = rng.random() < 0.5
    d.part(f"{d.far}ear", d.ellipse(0.84, 0.1, d.small(0.035 * d.w, 0.5), d.small(0.08 * d.h, 0.8), -25), _solid(shade(fur, 0.55)))
    head_r = max(0.11 * d.w, 2.2 * d.floor)
    d.part("head", d.ellipse(0.8, 0.24, head_r, head_r), fur_tex)
    d.part("muzzle", d.ellipse(0.93, 0.31, max(0.08 * d.w, d.floor), max(0.075 * d.h, 0.6 * d.floor)),
           Texture("gradient", light, shade(light, 0.85), angle=np.pi / 2))
    nr = d.small(0.028 * d.w, 0.5)
    d.part("nose", d.ellipse(0.995, 0.27, nr, nr * 0.8), _solid((0.05, 0.04, 0.04)))
    er = d.small(0.022 * d.w, 0.5)
    pid = d.part(f"{d.near}eye", d.ellipse(0.84, 0.2, er, er), _solid((0.95, 0.9, 0.8)))
    d.deco(pid, d.ellipse(0.845, 0.2, er * 0.6, er * 0.6), _solid((0.1, 0.06, 0.03)))
    ear = d.ellipse(0.73, 0.25, d.small(0.045 * d.w, 0.5), d.small(0.12 * d.h, 0.9), 25) if floppy else \
        d.poly([(0.7, 0.2), (0.76, 0.0), (0.8, 0.18)])
    d.part(f"{d.near}ear", ear, Texture("fur", shade(fur, 0.5), shade(fur, 0.35), period=3, angle=1.4))
    return "Right" if d.facing > 0 else "Left"


def draw_bird(d: Drawer) -> str:
    rng = d.rng
    body = random_colour(rng, (0.3, 1.0), (0.35, 1.0))
    head = random_colour(rng, (0.5, 1.0), (0.2, 0.9))
    wing = shade(random_colour(rng, (0.3, 1.0), (0.3, 0.8)), 0.8)
    beak = jitter((0.98, 0.62, 0.1), rng, 0.08)
    legc = jitter((0.85, 0.5, 0.2), rng, 0.1)
    leg_w = d.small(0.03 * d.w, 0.4)
    toe = d.small(0.07 * d.w, 0.8)
    d.part("tail", d.poly([(0.24, 0.48), (0.0, 0.6), (0.04, 0.8), (0.28, 0.6)]), Texture("stripes", shade(wing, 0.8), shade(wing, 0.5), period=4, angle=0.5))
    flying = rng.random() < 0.3
    if flying:
        d.part(f"{d.far}wing", d.poly([(0.36, 0.4), (0.2, 0.02), (0.44, 0.05), (0.58, 0.38)]),
               Texture("stripes", shade(wing, 0.8), shade(wing, 0.55), period=4, angle=1.2))
    for depth, side in ((0, d.far), (1, d.near)):
        u = 0.44 + 0.07 * depth
        d.part(f"{side}leg", d.line([(u, 0.66), (u - 0.01, 0.88)], leg_w), _solid(shade(legc, 0.8 + 0.2 * depth)))
        t = toe / d.w
        d.part(f"{side}foot", d.line([(u - 0.4 * t, 0.92), (u - 0.01, 0.88), (u + t, 0.93)], leg_w * 1.2) |
               d.line([(u - 0.01, 0.88), (u + 0.6 * t, 0.96)], leg_w * 1.2), _solid(shade(legc, 0.6 + 0.2 * depth)))
    pid = d.part("torso", d.ellipse(0.45, 0.5, 0.27 * d.w, 0.2 * d.h), Texture("scales", body, shade(body, 0.75), period=5))
    d.deco(pid, d.ellipse(0.52, 0.6, 0.18 * d.w, 0.1 * d.h), Texture("scales", shade(body, 1.5), shade(body, 1.2), period=5))
    d.part(f"{d.near}wing", d.ellipse(0.4, 0.48, 0.22 * d.w, 0.11 * d.h, -12), Texture("stripes", wing, shade(wing, 0.6), period=4, angle=1.3))
    d.part("neck", d.poly([(0.6, 0.38), (0.7, 0.24), (0.82, 0.3), (0.72, 0.46)]), Texture("stripes", shade(head, 1.4), shade(body, 1.1), period=3, angle=0.0))
    head_r = max(0.12 * d.w, 2.1 * d.floor)
    d.part("head", d.ellipse(0.78, 0.25, head_r, head_r), Texture("gradient", head, shade(head, 0.7), angle=np.pi / 2))
    bl = max(0.16, 1.3 * d.floor / d.w)
    d.part("beak", d.poly([(0.84, 0.19), (0.84 + bl, 0.26), (0.84, 0.32)]), Texture("gradient", beak, shade(beak, 0.7), angle=np.pi / 2))
    er = d.small(0.022 * d.w, 0.5)
    pid = d.part(f"{d.near}eye", d.ellipse(0.8, 0.22, er, er), _solid((0.98, 0.98, 0.95)))
    d.deco(pid, d.ellipse(0.805, 0.22, er * 0.6, er * 0.6), _solid((0.02, 0.02, 0.02)))
    return "Right" if d.facing > 0 else "Left"


GLASS = ((0.1, 0.45, 0.15), (0.4, 0.2, 0.05), (0.6, 0.75, 0.85), (0.82, 0.86, 0.86))


def draw_bottle(d: Drawer) -> str:
    rng = d.rng
    glass = jitter(GLASS[rng.integers(len(GLASS))], rng, 0.05)
    cap_h = d.small(0.07 * d.h) / d.h
    top = 0.03 + cap_h
    body = [(0.12, 0.96), (0.1, 0.42), (0.2, 0.32), (0.36, 0.24), (0.37, top), (0.63, top), (0.64, 0.24),
            (0.8, 0.32), (0.9, 0.42), (0.88, 0.96)]
    pid = d.part("body", d.poly(body), Texture("glass", shade(glass, 1.3), shade(glass, 0.6), angle=0.0))
    label = random_colour(rng, (0.0, 1.0), (0.5, 1.0))
    lv = rng.uniform(0.45, 0.6)
    d.deco(pid, d.poly([(0.1, lv), (0.9, lv), (0.9, lv + 0.22), (0.1, lv + 0.22)]), Texture("stripes", label, shade(label, 0.4), period=3, angle=np.pi / 2))
    cap = jitter(((0.8, 0.1, 0.1), (0.85, 0.7, 0.2), (0.1, 0.2, 0.7), (0.92, 0.92, 0.92))[rng.integers(4)], rng, 0.05)
    d.part("cap", d.poly([(0.33, 0.03), (0.67, 0.03), (0.67, top + 0.01), (0.33, top + 0.01)]),
           Texture("stripes", cap, shade(cap, 0.6), period=2.5, angle=0.0))
    return "Unspecified"


DRAWERS: dict[str, Callable[[Drawer], str]] = {
    "car": draw_car, "train": draw_train, "person": draw_person, "dog": draw_dog, "bird": draw_bird, "bottle": draw_bottle,
}
"""Class name -> drawing function (returns the VOC pose)."""
