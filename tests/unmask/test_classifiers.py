"""Model M builders from the registry, in-model preprocessing, missing-weights message, the one
predictor of M, save/load round trip."""
import keras
import numpy as np
import pytest

from unmask import registry
from unmask.classifiers import (
    MissingWeightsError,
    Preprocess,
    build_classifier,
    compiled_logits,
    imagenet_weights_path,
    load_classifier,
    predict_classes,
    save_classifier,
)

# arch -> (the papers' head layers and their kernel shapes at 32 px input, 3 classes)
HEADS = {
    "vgg16": {"fc1": (512, 4096), "fc2": (4096, 4096), "logits": (4096, 3)},
    "resnet50": {"logits": (2048, 3)},
    "resnet101": {"logits": (2048, 3)},
    "densenet121": {"logits": (1024, 3)},
    "small_cnn": {"logits": (64, 3)},
    "resnet152": {"logits": (2048, 3)},
    "resnet101_fd": {"logits": (2048, 3)},
    "resnet101_fd1": {"logits": (2048, 3)},
    "small_cnn_fd": {"logits": (64, 3)},
    "vgg19": {"logits": (512, 3)},
}


def test_every_registry_arch_is_tested():
    assert set(HEADS) == set(registry.ARCHS)


@pytest.mark.parametrize("arch", list(HEADS))
def test_build_outputs_logits_with_paper_heads(arch):
    model = build_classifier(arch, 3, weights=None, image_size=32)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.get_layer("preprocess").mode == registry.ARCHS[arch].preprocessing
    out = model(np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32))
    assert out.shape == (2, 3)
    assert not np.allclose(np.sum(np.asarray(out), axis=1), 1.0)  # logits, not probabilities
    for name, shape in HEADS[arch].items():
        assert tuple(model.get_layer(name).kernel.shape) == shape
    assert model.get_layer("logits").activation is keras.activations.linear


def test_freeze_base_leaves_only_the_head_trainable():
    model = build_classifier("resnet50", 4, weights=None, freeze_base=True, image_size=32)
    assert [tuple(v.shape) for v in model.trainable_variables] == [(2048, 4), (4,)]


def test_preprocessing_matches_keras_applications():
    x = np.random.default_rng(1).random((2, 8, 8, 3), dtype=np.float32)
    caffe = keras.applications.vgg16.preprocess_input(x * 255.0)
    torch = keras.applications.densenet.preprocess_input(x * 255.0)
    np.testing.assert_allclose(np.asarray(Preprocess("caffe")(x)), caffe, atol=1e-4)
    np.testing.assert_allclose(np.asarray(Preprocess("torch")(x)), torch, atol=1e-5)


def test_missing_imagenet_weights_message(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path / "tmp"))
    with pytest.raises(MissingWeightsError) as err:
        build_classifier("resnet50", 3, weights="imagenet", image_size=32)
    message = str(err.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert registry.weights_url("resnet50") in message
    assert str(tmp_path / "keras_home" / "models") in message
    assert "--weights none" in message
    cached = tmp_path / "keras_home" / "models" / "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert imagenet_weights_path("densenet121") == cached


def test_small_cnn_layers_keep_their_names():
    """Saved models load by layer name: small_cnn_base must keep these."""
    model = build_classifier("small_cnn", 3, weights=None, image_size=32)
    names = [layer.name for layer in model.layers]
    assert names[:3] == ["image", "preprocess", "stem_conv"] and names[-3:] == ["final_relu", "avg_pool", "logits"]
    assert {n for n in names if n.startswith("s1_")} == {
        "s1_bn1", "s1_relu1", "s1_proj", "s1_conv1", "s1_bn2", "s1_relu2", "s1_conv2", "s1_add"}
    assert len(names) == 30
    # from 64 px the stem max-pools (the demo's 128 px models), below it keeps its resolution
    pooled = [layer.name for layer in build_classifier("small_cnn", 3, weights=None, image_size=64).layers]
    assert pooled == names[:3] + ["stem_pool"] + names[3:]


def test_predict_classes_is_the_batched_argmax():
    model = build_classifier("small_cnn", 4, weights=None, image_size=16)
    x = np.random.default_rng(3).random((7, 16, 16, 3), dtype=np.float32)
    expected = np.argmax(np.asarray(model(x, training=False)), axis=1)
    for batch_size in (1, 3, 32):
        predicted = predict_classes(model, x, batch_size)
        assert predicted.dtype == np.int64
        np.testing.assert_array_equal(predicted, expected)
    assert predict_classes(model, x[:0], batch_size=0).shape == (0,)  # the evaluator passes len(x)
    assert compiled_logits(model) is compiled_logits(model)
    with pytest.raises(ValueError, match="batch size"):
        predict_classes(model, x, 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown architecture 'resnet18'; valid: vgg16, resnet50"):
        build_classifier("resnet18", 3, weights=None)
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_classifier("small_cnn", 1, weights=None)
    with pytest.raises(ValueError, match="no pretrained weights"):
        build_classifier("small_cnn", 3, weights="imagenet")
    with pytest.raises(MissingWeightsError, match="nowhere.h5"):
        build_classifier("vgg16", 3, weights="/nowhere.h5", image_size=32)


def test_save_load_round_trip(tmp_path):
    model = build_classifier("small_cnn", 3, weights=None, image_size=24)
    path = save_classifier(model, tmp_path / "sub" / "m.keras", ["car", "person", "train"], "small_cnn", 24, {"note": 1})
    loaded, info = load_classifier(path)
    assert info.class_names == ("car", "person", "train") and info.arch == "small_cnn"
    assert info.image_size == 24 and info.extra == {"note": 1}
    x = np.random.default_rng(2).random((3, 24, 24, 3), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["m.json", "m.keras"]


def test_save_load_errors(tmp_path):
    model = build_classifier("small_cnn", 3, weights=None, image_size=24)
    with pytest.raises(ValueError, match=r"\.keras"):
        save_classifier(model, tmp_path / "m.h5", ["a", "b", "c"], "small_cnn", 24)
    with pytest.raises(ValueError, match="3 logits but 2 class names"):
        save_classifier(model, tmp_path / "m.keras", ["a", "b"], "small_cnn", 24)
    with pytest.raises(FileNotFoundError, match="m2.keras"):
        load_classifier(tmp_path / "m2.keras")
