"""display_instances draws boxes, blended masks, outlines and captions; colours and blending."""
import numpy as np
import PIL.Image
import pytest
from matplotlib import patches

from mrcnn import visualize


def _detections():
    image = np.full((40, 60, 3), 0.5, dtype=np.float32)
    masks = np.zeros((40, 60, 2), dtype=bool)
    masks[5:20, 5:25, 0] = True
    masks[22:38, 30:55, 1] = True
    boxes = np.array([[5, 5, 20, 25], [22, 30, 38, 55]])
    return image, boxes, masks, np.array([1, 2]), ["BG", "head", "wheel"], np.array([0.9, 0.75])


RED, BLUE = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)


def _canvas_pixel(figure, x: float, y: float) -> np.ndarray:
    """RGB of the rendered canvas at image (data) coordinates (x, y)."""
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())
    px, py = figure.axes[0].transData.transform((x, y))
    return pixels[int(pixels.shape[0] - py), int(px), :3].astype(int)


def test_display_instances_draws_boxes_masks_outlines_and_captions(tmp_path):
    image, boxes, masks, ids, names, scores = _detections()
    path = tmp_path / "detections.png"
    figure = visualize.display_instances(image, boxes, masks, ids, names, scores, title="parts",
                                         figsize=(3, 2), colors=[RED, BLUE], save_path=str(path))
    ax = figure.axes[0]
    assert ax.get_title() == "parts"
    assert [(t.get_text(), t.get_position()) for t in ax.texts] == [("head 0.900", (5, 13)), ("wheel 0.750", (30, 30))]
    rectangles = [p for p in ax.patches if isinstance(p, patches.Rectangle)]
    assert [(r.get_xy(), r.get_width(), r.get_height()) for r in rectangles] == [((5, 5), 20, 15), ((30, 22), 25, 16)]
    assert [r.get_edgecolor()[:3] for r in rectangles] == [RED, BLUE]
    outlines = [p for p in ax.patches if isinstance(p, patches.Polygon) and not isinstance(p, patches.Rectangle)]
    assert [o.get_edgecolor()[:3] for o in outlines] == [RED, BLUE]  # one contour per rectangular mask
    x, y = outlines[0].get_xy().T
    assert (x.min(), x.max(), y.min(), y.max()) == (4.5, 24.5, 4.5, 19.5)  # half a pixel around the mask
    # masks blended at alpha 0.5 into the grey 127.5: (127.5 + 255) / 2 = 191 in their colour channel
    shown = np.asarray(ax.images[0].get_array())
    assert shown[12, 15].tolist() == [191, 63, 63] and shown[30, 40].tolist() == [63, 63, 191]
    assert shown[2, 45].tolist() == [127, 127, 127]
    assert np.abs(_canvas_pixel(figure, 20, 18) - [191, 63, 63]).max() <= 2  # below the caption
    assert np.abs(_canvas_pixel(figure, 45, 2) - 127).max() <= 2
    png = np.asarray(PIL.Image.open(path).convert("RGB")).astype(int)
    assert png.shape[0] > 50 and png.shape[1] > 80
    assert ((np.abs(png - [191, 63, 63]).max(axis=2) <= 2).sum() > 100
            and (np.abs(png - [63, 63, 191]).max(axis=2) <= 2).sum() > 100)  # both masks in the file


def test_integer_images_are_taken_as_0_255(tmp_path):
    image, boxes, masks, ids, names, _ = _detections()
    dark = np.ones((40, 60, 3), dtype=np.uint8)  # values 0..255, not [0, 1]
    figure = visualize.display_instances(dark, boxes, masks, ids, names, figsize=(3, 2), show_bbox=False,
                                         colors=[RED, BLUE])
    ax = figure.axes[0]
    assert not [p for p in ax.patches if isinstance(p, patches.Rectangle)] and len(ax.patches) == 2
    shown = np.asarray(ax.images[0].get_array())
    assert shown[2, 45].tolist() == [1, 1, 1]  # unmasked pixels keep their 0-255 value
    assert shown[12, 15].tolist() == [128, 0, 0]  # (1 + 255) / 2 in red


def test_display_instances_without_instances_and_with_captions(tmp_path):
    image, boxes, masks, ids, names, _ = _detections()
    path = tmp_path / "empty.png"
    figure = visualize.display_instances((image * 255).astype(np.uint8), np.zeros((0, 4)), np.zeros((40, 60, 0)),
                                         np.zeros(0, int), names, figsize=(2, 2), save_path=str(path))
    ax = figure.axes[0]
    assert ax.get_title() == "(no instances)" and not ax.patches and not ax.texts
    assert (np.asarray(ax.images[0].get_array()) == 127).all()  # the image, untouched
    png = np.asarray(PIL.Image.open(path).convert("RGB")).astype(int)
    assert (np.abs(png - 127).max(axis=2) <= 1).sum() > 0.3 * png.shape[0] * png.shape[1]
    figure = visualize.display_instances(image, boxes, masks, ids, names, captions=["a", "b"], figsize=(2, 2))
    assert [t.get_text() for t in figure.axes[0].texts] == ["a", "b"]
    with pytest.raises(ValueError, match="same number"):
        visualize.display_instances(image, boxes, masks[:, :, :1], ids, names)


def test_random_colors_and_apply_mask():
    colors = visualize.random_colors(5, rng=np.random.default_rng(0))
    assert colors == visualize.random_colors(5, rng=np.random.default_rng(0))
    assert len(set(colors)) == 5 and all(max(c) == 1.0 for c in colors)
    image = np.full((2, 2, 3), 100.0)
    mask = np.array([[1, 0], [0, 0]])
    visualize.apply_mask(image, mask, (1.0, 0.0, 0.0), alpha=0.5)
    np.testing.assert_allclose(image[0, 0], [177.5, 50, 50])
    np.testing.assert_allclose(image[1, 1], [100, 100, 100])
