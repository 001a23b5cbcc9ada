"""K's training entry point: which layers a starting checkpoint gives (fine-tuning a K vs a COCO model)."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from mrcnn.weights import save_weights
from unmask.part_model import _heads_fit


def test_heads_load_only_when_their_class_count_matches(tmp_path):
    inputs = keras.Input((8,))
    head = keras.Model(inputs, keras.layers.Dense(4, name="mrcnn_class_logits")(keras.layers.Dense(8, name="fc")(inputs)))
    path = tmp_path / "k.h5"
    save_weights(head, str(path))  # Matterport's h5 layout, as every K checkpoint
    assert _heads_fit(path, 4)  # a K of the same parts: fine-tuned with every layer
    assert not _heads_fit(path, 45)  # another model's heads (e.g. COCO's 81 classes) are left out
