"""Matterport h5 layout: save/load round trips, exclude with another NUM_CLASSES, legacy file variants."""
import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py
import numpy as np
import pytest

from mrcnn import model as M
from mrcnn import weights as W
from mrcnn.config import small_cpu_config

HEADS = ["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask"]


def _values(model):
    return {layer.name: [np.array(w) for w in layer.get_weights()] for layer in model.keras_model.layers
            if layer.weights}


def _assert_same(a, b, names):
    for name in names:
        for x, y in zip(a[name], b[name]):
            np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small training model (checkpoint source) saved in the Matterport layout."""
    root = tmp_path_factory.mktemp("weights")
    model = M.MaskRCNN("training", small_cpu_config(NUM_CLASSES=4), str(root))
    path = str(root / "mask_rcnn_small_0003.h5")
    model.save_weights(path)
    return model, path


def test_file_layout_is_matterport(saved):
    _, path = saved
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        assert "conv1" in names and "rpn_model" in names and "mrcnn_mask" in names and "ROI" in names
        assert f.attrs["backend"] in ("tensorflow", b"tensorflow")
        assert [n.decode() for n in f["mrcnn_class_bn1"].attrs["weight_names"]] == [
            f"mrcnn_class_bn1/{w}:0" for w in ("gamma", "beta", "moving_mean", "moving_variance")]
        assert f["rpn_model"]["rpn_conv_shared"]["kernel:0"].shape == (3, 3, 64, 128)
        assert f["mrcnn_class_logits/mrcnn_class_logits/kernel:0"].shape == (256, 4)
        assert len(f["ROI"].attrs["weight_names"]) == 0


def test_training_checkpoint_loads_into_inference_model_by_name_then_by_order(saved, tmp_path):
    trained, path = saved
    expected = _values(trained)
    model = M.MaskRCNN("inference", small_cpu_config(NUM_CLASSES=4), str(tmp_path))
    report = model.load_weights(path, by_name=True)
    assert not report["missing"] and not report["unused"] and len(report["loaded"]) == len(expected)
    _assert_same(expected, _values(model), expected)
    assert model.epoch == 0  # no run directory in the path: a fresh log dir
    # by order (Keras 2's topological loading) between models of the same mode
    model.save_weights(str(tmp_path / "inference.h5"))
    again = M.MaskRCNN("inference", small_cpu_config(NUM_CLASSES=4), str(tmp_path))
    again.load_weights(str(tmp_path / "inference.h5"), by_name=False)
    _assert_same(expected, _values(again), expected)
    # a checkpoint path inside a run directory gives the run and the epoch to continue from
    model.set_log_dir(os.path.join(str(tmp_path), "small20260102T0304", "mask_rcnn_small_0003.h5"))
    assert model.epoch == 3 and model.log_dir.endswith("small20260102T0304")


def test_exclude_heads_into_other_num_classes(saved, tmp_path, caplog):
    trained, path = saved
    other = M.MaskRCNN("inference", small_cpu_config(NUM_CLASSES=7), str(tmp_path))
    with pytest.raises(ValueError, match="mrcnn_class_logits") as error:
        other.load_weights(path, by_name=True)
    assert "mrcnn_bbox_fc" in str(error.value) and "mrcnn_mask" in str(error.value)
    before = _values(other)
    with caplog.at_level(logging.INFO, logger="mrcnn.weights"):
        report = other.load_weights(path, exclude=HEADS)
    assert report["excluded"] == sorted(["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_mask"])
    assert "mrcnn_class_logits" in caplog.text
    after, source = _values(other), _values(trained)
    body = [name for name in after if name not in HEADS]
    _assert_same(source, after, body)
    _assert_same(before, after, ["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_mask"])


def test_chunked_layer_names_model_weights_root_and_tf1_suffixes(saved, tmp_path):
    trained, path = saved
    legacy = str(tmp_path / "legacy.h5")
    with h5py.File(path, "r") as src, h5py.File(legacy, "w") as dst:
        root = dst.create_group("model_weights")
        names = [n for n in src.attrs["layer_names"]]
        W._save_attribute(root, "layer_names", names)
        for name in names:
            group = root.create_group(name.decode())
            renamed = []
            weight_names = list(src[name.decode()].attrs["weight_names"])
            if name == b"rpn_model":  # sub-layers listed in another order
                weight_names = weight_names[::-1]
            for weight_name in weight_names:
                layer, weight = weight_name.decode().split("/", 1)
                renamed.append(f"{layer}_1/{weight}".encode())  # TF1-style suffixed name
                group.create_dataset(renamed[-1].decode(), data=src[name.decode()][weight_name.decode()][()])
            W._save_attribute(group, "weight_names", renamed)
    model = M.MaskRCNN("inference", small_cpu_config(NUM_CLASSES=4), str(tmp_path))
    model.load_weights(legacy, by_name=True)
    _assert_same(_values(trained), _values(model), _values(trained))


def test_attribute_chunking_above_header_limit(tmp_path):
    names = [f"layer_with_a_rather_long_name_{i:05d}".encode() for i in range(3000)]
    with h5py.File(tmp_path / "a.h5", "w") as f:
        W._save_attribute(f, "layer_names", names)
        assert "layer_names" not in f.attrs and "layer_names0" in f.attrs and "layer_names1" in f.attrs
        assert W._load_attribute(f, "layer_names") == [n.decode() for n in names]


def test_clear_errors(tmp_path, saved):
    trained, _ = saved
    with pytest.raises(FileNotFoundError):
        W.load_weights(trained.keras_model, str(tmp_path / "missing.h5"))
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="HDF5"):
        W.load_weights(trained.keras_model, str(bad))
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(ValueError, match="layer_names"):
        W.load_weights(trained.keras_model, str(tmp_path / "empty.h5"))


def test_read_weights_can_read_only_the_named_layers(saved):
    _, path = saved
    everything = W.read_weights(path)
    some = W.read_weights(path, layers={"conv1", "mrcnn_mask"})
    assert list(some) == ["conv1", "mrcnn_mask"]
    for name, entries in some.items():
        assert [n for n, _ in entries] == [n for n, _ in everything[name]]
        for (_, a), (_, b) in zip(entries, everything[name]):
            np.testing.assert_array_equal(a, b)
