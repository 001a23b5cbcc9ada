"""The part extractor K: our Mask R-CNN in inference mode, turning images into sets of part names.

Images arrive as float32 [0,1] at M's resolution (benign or adversarial). By default they are scaled
to 0-255 without quantization (an adversarial perturbation survives intact) and resized by the
model's own molding (Matterport's resize_image). ``quantize=True`` gives K what the original code
gave it (extract_features.py ``Extract.extract``): torchvision's ``ToPILImage`` (x * 255 truncated to
uint8), then Matterport's ``resize_image`` to K's square canvas (in uint8), and ``detect`` on that
canvas, so boxes are clipped to the whole canvas and come back in its pixels. A perturbation below
one grey level can vanish there. With DETECTION_MIN_CONFIDENCE = 0 (the papers' setting) every kept
detection counts as a found part.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from unmask.parts import PARTS
from unmask.images import check_images


class MaskRCNNExtractor:
    """K: loads a checkpoint once and extracts part sets in batches."""

    def __init__(
        self,
        checkpoint: str | Path,
        config: str = "matterport",
        overrides: dict[str, Any] | None = None,
        batch_size: int = 1,
        detection_min_confidence: float = 0.0,
        quantize: bool = False,
    ):
        from mrcnn.model import MaskRCNN
        from unmask.part_model import part_config

        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise FileNotFoundError(
                f"part extractor checkpoint {checkpoint} not found: train one with `unmask run` / "
                "`unmask train-k`, or download UnMask's mask_rcnn_parts_0040.h5 and point the preset at it"
            )
        settings = {"DETECTION_MIN_CONFIDENCE": detection_min_confidence, **(overrides or {})}
        self.config = part_config(config, "inference", settings, batch_size)
        self.model = MaskRCNN(mode="inference", config=self.config, model_dir=str(checkpoint.parent))
        self.model.load_weights(str(checkpoint), by_name=True)
        self.batch_size = self.config.BATCH_SIZE
        self.quantize = quantize

    def k_input(self, image: np.ndarray) -> np.ndarray:
        """What K's detect() is given for one float [0,1] image: 0-255 floats, or with ``quantize`` the
        original's uint8 canvas (float32 x * 255 truncated, as torch's ``mul(255).byte()``; then
        resize_image, which keeps uint8 by truncating too)."""
        if not self.quantize:
            return image * np.float32(255)
        from mrcnn.utils import resize_image

        pixels = (image.astype(np.float32) * np.float32(255)).astype(np.uint8)
        c = self.config
        return resize_image(pixels, min_dim=c.IMAGE_MIN_DIM, max_dim=c.IMAGE_MAX_DIM, min_scale=c.IMAGE_MIN_SCALE,
                            mode=c.IMAGE_RESIZE_MODE)[0]

    def detect(self, images: np.ndarray, masks: bool = True) -> list[dict[str, np.ndarray]]:
        """Matterport detections per image (rois, class_ids, scores, masks) plus `parts` names per detection,
        in the pixels of the image K was given (see ``k_input``).

        masks=False gives no masks: the graph skips the mask head and nothing is pasted, for the same
        detections in less time (part sets need the classes only)."""
        images = [self.k_input(image) for image in check_images(images)]
        results = []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            n_real = len(batch)
            batch += [batch[-1]] * (self.batch_size - n_real)  # detect() wants exactly BATCH_SIZE images
            results += self.model.detect(batch, mask_head=masks)[:n_real]
        for r in results:
            r["parts"] = np.array([PARTS[c - 1] for c in r["class_ids"]], dtype=object)
        return results

    def extract(self, images: np.ndarray) -> list[set[str]]:
        """The set of part names found in each image (duplicates collapse)."""
        return [set(r["parts"].tolist()) for r in self.detect(images, masks=False)]


_LOADED: dict[tuple, MaskRCNNExtractor] = {}


def get_extractor(
    checkpoint: str | Path,
    config: str = "matterport",
    overrides: dict[str, Any] | None = None,
    batch_size: int = 1,
    detection_min_confidence: float = 0.0,
    quantize: bool = False,
) -> MaskRCNNExtractor:
    """One MaskRCNNExtractor per process and setting: building the graph and loading weights is slow."""
    key = (str(Path(checkpoint).resolve()), config, repr(sorted((overrides or {}).items())), batch_size,
           detection_min_confidence, quantize)
    if key not in _LOADED:
        _LOADED[key] = MaskRCNNExtractor(checkpoint, config, overrides, batch_size, detection_min_confidence, quantize)
    return _LOADED[key]
