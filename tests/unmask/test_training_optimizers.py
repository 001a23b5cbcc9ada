"""M's optimiser option (SGD or Adam, thesis Tables 4-5) and training a model with denoising blocks."""
import keras
import numpy as np
import pytest

from unmask import registry
from unmask.classifiers import load_classifier
from unmask.training import make_optimizer, train_classifier
from unmask.parts import class_set

SHAPE_CLASSES = class_set("CS3a")  # the classes of the shapes_data fixture


def test_make_optimizer_follows_the_recipe():
    recipe = registry.TRAIN_PRESETS["bigdata2020"]
    sgd = make_optimizer(recipe)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == pytest.approx(0.9)
    adam = make_optimizer(recipe.resolved(optimizer="adam", learning_rate=0.002))
    assert isinstance(adam, keras.optimizers.Adam) and float(adam.learning_rate) == pytest.approx(0.002)
    with pytest.raises(ValueError, match="sgd, adam"):
        make_optimizer(recipe.resolved(optimizer="rmsprop"))


def test_adam_trains_small_cnn_fd_and_the_blocks_learn(shapes_data, tiny_training, tmp_path):
    options = {**tiny_training, "epochs": 1}
    out = tmp_path / "fd.keras"
    result = train_classifier(shapes_data / "train", shapes_data / "val", SHAPE_CLASSES, "small_cnn_fd", out,
                              optimizer="adam", **options)
    model, info = load_classifier(out)
    assert info.extra["request"]["optimizer"] == "adam" and info.arch == "small_cnn_fd"
    gamma = model.get_layer("s2_denoise").norm.gamma.numpy()
    assert np.abs(gamma).max() > 0  # started at 0: the block is no longer the identity
    again = train_classifier(shapes_data / "train", shapes_data / "val", SHAPE_CLASSES, "small_cnn_fd", out,
                             optimizer="adam", **options)
    assert again.reused and not result.reused
    sgd = train_classifier(shapes_data / "train", shapes_data / "val", SHAPE_CLASSES, "small_cnn", tmp_path / "s.keras",
                           **options)
    assert "optimizer" not in load_classifier(sgd.model_path)[1].extra["request"]  # SGD requests as before the option
