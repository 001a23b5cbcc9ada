"""The augmentation interface: same transform on image and masks, replayable from a seed."""
import numpy as np
import pytest

from mrcnn.augment import Augmenter, HorizontalFlip, Sequential


def _sample():
    image = np.arange(4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3)
    masks = np.zeros((4, 6, 2), dtype=bool)
    masks[:, :2, 0] = True
    masks[1, 5, 1] = True
    return image, masks


def test_flip_moves_image_and_masks_together():
    image, masks = _sample()
    flipped, flipped_masks = HorizontalFlip(p=1.0)(image, masks, np.random.default_rng(0))
    np.testing.assert_array_equal(flipped, image[:, ::-1])
    assert flipped_masks[:, 4:, 0].all() and flipped_masks[1, 0, 1] and flipped_masks.sum() == masks.sum()
    same, same_masks = HorizontalFlip(p=0.0)(image, masks, np.random.default_rng(0))
    assert same is image and same_masks is masks


def test_flip_rate_and_determinism():
    image, masks = _sample()
    flip = HorizontalFlip()

    def outcomes(seed):
        rng = np.random.default_rng(seed)
        return [bool(flip(image, masks, rng)[0][0, 0, 0] != image[0, 0, 0]) for _ in range(400)]

    first = outcomes(3)
    assert first == outcomes(3)
    assert first != outcomes(4)
    assert 0.4 < np.mean(first) < 0.6


def test_sequential_composes_in_order():
    image, masks = _sample()
    twice = Sequential([HorizontalFlip(1.0), HorizontalFlip(1.0)])
    out, out_masks = twice(image, masks, np.random.default_rng(0))
    np.testing.assert_array_equal(out, image)
    np.testing.assert_array_equal(out_masks, masks)
    assert isinstance(twice, Augmenter) and isinstance(HorizontalFlip(), Augmenter)


def test_bad_arguments():
    image, masks = _sample()
    with pytest.raises(ValueError, match="probability"):
        HorizontalFlip(1.5)
    with pytest.raises(ValueError, match="differ"):
        HorizontalFlip(1.0)(image, masks[:3], np.random.default_rng(0))
    with pytest.raises(TypeError, match="not an augmenter"):
        Sequential([HorizontalFlip(), 3])
