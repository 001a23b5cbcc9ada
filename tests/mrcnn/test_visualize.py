"""display_instances writes a PNG showing the masks; colours and blending behave as documented."""
import numpy as np
import PIL.Image
import pytest

from mrcnn import visualize


def _detections():
    image = np.full((40, 60, 3), 0.5, dtype=np.float32)
    masks = np.zeros((40, 60, 2), dtype=bool)
    masks[5:20, 5:25, 0] = True
    masks[22:38, 30:55, 1] = True
    boxes = np.array([[5, 5, 20, 25], [22, 30, 38, 55]])
    return image, boxes, masks, np.array([1, 2]), ["BG", "head", "wheel"], np.array([0.9, 0.75])


def test_display_instances_writes_a_png(tmp_path):
    image, boxes, masks, ids, names, scores = _detections()
    path = tmp_path / "detections.png"
    figure = visualize.display_instances(image, boxes, masks, ids, names, scores, title="parts",
                                         figsize=(3, 2), colors=[(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)],
                                         save_path=str(path))
    assert figure.axes[0].get_title() == "parts"
    assert [t.get_text() for t in figure.axes[0].texts] == ["head 0.900", "wheel 0.750"]
    png = np.asarray(PIL.Image.open(path).convert("RGB")).astype(int)
    assert png.shape[0] > 50 and png.shape[1] > 80
    reddish = (png[:, :, 0] > png[:, :, 2] + 60).sum()
    bluish = (png[:, :, 2] > png[:, :, 0] + 60).sum()
    assert reddish > 50 and bluish > 50  # both masks are blended into the picture


def test_integer_images_are_taken_as_0_255(tmp_path):
    image, boxes, masks, ids, names, _ = _detections()
    dark = np.ones((40, 60, 3), dtype=np.uint8)  # values 0..255, not [0, 1]
    path = tmp_path / "dark.png"
    visualize.display_instances(dark, boxes, masks, ids, names, figsize=(3, 2), show_bbox=False,
                                colors=[(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)], save_path=str(path))
    png = np.asarray(PIL.Image.open(path).convert("RGB")).astype(int)
    assert (png.sum(axis=2) < 10).sum() > 100  # unmasked pixels stay nearly black


def test_display_instances_without_instances_and_with_captions(tmp_path):
    image, boxes, masks, ids, names, _ = _detections()
    path = tmp_path / "empty.png"
    visualize.display_instances((image * 255).astype(np.uint8), np.zeros((0, 4)), np.zeros((40, 60, 0)),
                                np.zeros(0, int), names, figsize=(2, 2), save_path=str(path))
    assert path.stat().st_size > 0
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
