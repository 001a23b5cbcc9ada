"""Drawing of Mask R-CNN instances (boxes, masks, outlines, captions) to PNG files, Matterport style.

Uses matplotlib's Agg canvas directly (no pyplot, no screen), so it works on headless machines and
leaves no global figure state behind.
"""
from __future__ import annotations

import colorsys
from typing import Sequence

import numpy as np
from matplotlib import patches
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from skimage.measure import find_contours

Color = tuple[float, float, float]


def random_colors(N: int, bright: bool = True, rng: np.random.Generator | None = None) -> list[Color]:
    """N visually distinct RGB colours in [0, 1] (evenly spaced hues), shuffled by ``rng``."""
    brightness = 1.0 if bright else 0.7
    colors = [colorsys.hsv_to_rgb(i / N, 1, brightness) for i in range(N)]
    order = (rng if rng is not None else np.random.default_rng()).permutation(N)
    return [colors[i] for i in order]


def apply_mask(image: np.ndarray, mask: np.ndarray, color: Color, alpha: float = 0.5) -> np.ndarray:
    """Blend ``color`` (RGB in [0, 1]) into the 0-255 ``image`` where ``mask`` is set, in place."""
    for c in range(3):
        image[:, :, c] = np.where(mask == 1, image[:, :, c] * (1 - alpha) + alpha * color[c] * 255,
                                  image[:, :, c])
    return image


def _as_0_255(image: np.ndarray) -> np.ndarray:
    """float images are taken as [0, 1] (the project's convention), integer images as 0-255."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    scale = 255.0 if np.issubdtype(image.dtype, np.floating) else 1.0
    return np.clip(image[:, :, :3].astype(np.float64) * scale, 0, 255)


def display_instances(image: np.ndarray, boxes: np.ndarray, masks: np.ndarray, class_ids: np.ndarray,
                      class_names: Sequence[str], scores: np.ndarray | None = None, title: str = "",
                      figsize: tuple[float, float] = (16, 16), ax: Axes | None = None,
                      show_mask: bool = True, show_bbox: bool = True, colors: Sequence[Color] | None = None,
                      captions: Sequence[str] | None = None, save_path: str | None = None) -> Figure:
    """Draw detections (boxes [N, (y1, x1, y2, x2)], masks [H, W, N], class ids, scores) on the image.

    Draws into ``ax`` when given, else into a new figure of ``figsize`` inches; writes a PNG to
    ``save_path`` when given. Returns the figure. Captions default to "class score".
    """
    n = boxes.shape[0]
    if n and not (n == masks.shape[-1] == class_ids.shape[0]):
        raise ValueError(f"boxes ({n}), masks ({masks.shape[-1]}) and class_ids ({class_ids.shape[0]}) "
                         "must describe the same number of instances")
    if ax is None:
        figure = Figure(figsize=figsize)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot(1, 1, 1)
    figure = ax.figure
    colors = list(colors) if colors is not None else random_colors(n)
    height, width = image.shape[:2]
    ax.set_ylim(height + 10, -10)
    ax.set_xlim(-10, width + 10)
    ax.axis("off")
    ax.set_title(title if n else (title + " (no instances)").strip())

    masked_image = _as_0_255(image)
    for i in range(n):
        color = colors[i]
        if not np.any(boxes[i]):  # zero rows pad the detections
            continue
        y1, x1, y2, x2 = boxes[i]
        if show_bbox:
            ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2, alpha=0.7,
                                           linestyle="dashed", edgecolor=color, facecolor="none"))
        if captions:
            caption = captions[i]
        else:
            label = class_names[class_ids[i]]
            caption = f"{label} {scores[i]:.3f}" if scores is not None and scores[i] else label
        ax.text(x1, y1 + 8, caption, color="w", size=11, backgroundcolor="none")
        mask = masks[:, :, i]
        if show_mask:
            masked_image = apply_mask(masked_image, mask, color)
        padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.uint8)
        padded[1:-1, 1:-1] = mask
        for verts in find_contours(padded, 0.5):
            ax.add_patch(patches.Polygon(np.fliplr(verts) - 1, facecolor="none", edgecolor=color))
    ax.imshow(masked_image.astype(np.uint8))
    if save_path:
        figure.savefig(save_path, format="png", bbox_inches="tight")
    return figure
