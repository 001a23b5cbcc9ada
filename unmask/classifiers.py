"""Model M builders: the papers' ImageNet architectures with new heads, plus a small CPU CNN.

Every model takes float32 RGB images in [0, 1] and applies its architecture's own preprocessing
inside the graph (a serializable layer), so attacks, training and evaluation all work in [0, 1]
pixel space. Every model outputs logits (no softmax): the attack libraries need them. The
architectures, their builders, preprocessing and ImageNet weights come from ``unmask.registry.ARCHS``.

``predict_classes`` is the one predictor of M (a compiled forward pass and argmax, cached per model)
that attacks, training and the evaluator share.

A trained model is stored as a Keras ``.keras`` file plus a JSON sidecar (``<name>.json``) holding
the class names in output order, the architecture, the input size and training information.
"""
from __future__ import annotations

import functools
import json
import os
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from unmask import registry
from unmask.denoising import NonLocalDenoise, insert_denoising

_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


class MissingWeightsError(FileNotFoundError):
    """Pretrained weights that are neither in the Keras cache nor downloadable here."""


PREPROCESSING_MODES: tuple[str, ...] = ("caffe", "torch", "symmetric", "raw")


@keras.saving.register_keras_serializable(package="unmask")
class Preprocess(layers.Layer):
    """Maps [0, 1] RGB to an architecture's expected input, as keras.applications' preprocess_input.

    caffe: x*255, RGB->BGR, minus the ImageNet BGR mean (VGG, ResNet); torch: (x - mean) / std
    (DenseNet); symmetric: 2x - 1 (small_cnn); raw: x unchanged (what the BigData code fed torchvision's
    ImageNet models: [0, 1] tensors without mean/std normalisation).
    """

    def __init__(self, mode: str, **kwargs: Any):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(f"unknown preprocessing mode {mode!r}; valid: {', '.join(PREPROCESSING_MODES)}")
        self.mode = mode

    def call(self, x):
        if self.mode == "caffe":
            return x[..., ::-1] * 255.0 - np.asarray(_CAFFE_BGR_MEAN, dtype="float32")
        if self.mode == "torch":
            return (x - np.asarray(_TORCH_MEAN, dtype="float32")) / np.asarray(_TORCH_STD, dtype="float32")
        if self.mode == "raw":
            return x
        return x * 2.0 - 1.0

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


def keras_cache_dirs() -> list[Path]:
    """Where keras.utils.get_file keeps downloaded models: $KERAS_HOME or ~/.keras, else /tmp/.keras."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    return [home / "models", Path(tempfile.gettempdir()) / ".keras" / "models"]


def imagenet_weights_path(arch: str) -> Path:
    """The cached notop ImageNet weights of ``arch``; MissingWeightsError (no download attempt) if absent."""
    info = registry.lookup(registry.ARCHS, arch, "architecture")
    if info.weights_file is None:
        raise ValueError(f"{arch} has no pretrained weights; use weights=None")
    file_name = info.weights_file.split("/")[-1]
    for folder in keras_cache_dirs():
        if (folder / file_name).is_file():
            return folder / file_name
    raise MissingWeightsError(
        f"ImageNet weights for {arch} not found: put {file_name} into {keras_cache_dirs()[0]}/ "
        f"(download it from {registry.weights_url(arch)}; no download is attempted here), "
        f"or train from scratch with --weights none (weights=None)."
    )


SMALL_CNN_BN_MOMENTUM = 0.9
"""Keras' 0.99 leaves the moving statistics far behind on the few hundred steps a small dataset
gives, so the model looks like chance in inference mode for epochs while it trains well."""


STEM_POOL_MIN_SIZE = 64
"""small_cnn's input size from which its stem max-pools."""


def small_cnn_base(inputs, widths: Sequence[int] = (16, 32, 64), denoise: Sequence[int] = ()):
    """A narrow pre-activation ResNet: ResNet's stem (stride-2 conv, then from STEM_POOL_MIN_SIZE px
    a 3x3 stride-2 max-pool), one residual block per stage, stride 2 between stages. The stem lets it
    read 128 px images (the resolution K needs to see small parts) at the cost of 32 px ones: every
    attack step and every training step of the demo runs this network. Smaller inputs keep the
    stem's resolution, as CIFAR ResNets do (pooled, a 32 px image ends at 2x2). ``denoise``: the
    stages followed by a non-local denoising block (``s<stage>_denoise``)."""
    x = layers.Conv2D(widths[0], 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    if inputs.shape[1] is not None and inputs.shape[1] >= STEM_POOL_MIN_SIZE:
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, width in enumerate(widths):
        stride = 1 if stage == 0 else 2
        shortcut = x
        y = layers.BatchNormalization(momentum=SMALL_CNN_BN_MOMENTUM, name=f"s{stage}_bn1")(x)
        y = layers.ReLU(name=f"s{stage}_relu1")(y)
        if stride != 1 or shortcut.shape[-1] != width:
            shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False, name=f"s{stage}_proj")(y)
        y = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False, name=f"s{stage}_conv1")(y)
        y = layers.BatchNormalization(momentum=SMALL_CNN_BN_MOMENTUM, name=f"s{stage}_bn2")(y)
        y = layers.ReLU(name=f"s{stage}_relu2")(y)
        y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"s{stage}_conv2")(y)
        x = layers.Add(name=f"s{stage}_add")([shortcut, y])
        if stage in denoise:
            x = NonLocalDenoise(bn_momentum=SMALL_CNN_BN_MOMENTUM, name=f"s{stage}_denoise")(x)
    x = layers.BatchNormalization(momentum=SMALL_CNN_BN_MOMENTUM, name="final_bn")(x)
    return layers.ReLU(name="final_relu")(x)


small_cnn_fd_base = functools.partial(small_cnn_base, denoise=(1, 2))
"""small_cnn with a denoising block after its 16x16 and 8x8 stages at 128 px (not the 32x32 one:
the block's cost grows as (H*W)^2)."""

RESNET_STAGE_OUTPUTS: tuple[str, ...] = ("conv2_block3_out", "conv3_block4_out", "conv4_block23_out", "conv5_block3_out")
"""The last residual block of each of ResNet101's four stages: where the thesis puts its blocks."""


def denoised_resnet101(after: Sequence[str] = RESNET_STAGE_OUTPUTS, include_top: bool = False,
                       weights: str | None = None, input_shape: tuple | None = None) -> keras.Model:
    """keras.applications.ResNet101 (its weights loaded as usual) with a zero-initialised denoising block
    after each stage output in ``after``: the thesis' FD-ResNet101 (``insert_denoising``)."""
    base = keras.applications.ResNet101(include_top=include_top, weights=weights, input_shape=input_shape)
    return insert_denoising(base, after, name=f"resnet101_fd{len(after)}")


resnet101_fd_base = functools.partial(denoised_resnet101, RESNET_STAGE_OUTPUTS)
resnet101_fd1_base = functools.partial(denoised_resnet101, ("conv4_block23_out",))
"""One block after conv4 (torchvision's layer3): the thesis' CIFAR-10 check (Table 6)."""


def _head(arch: str, features, num_classes: int):
    """The papers' heads: VGG16 4096-ReLU-Dropout-4096-ReLU-Dropout-N; the others pool + Dense(N)."""
    if arch == "vgg16":
        x = layers.Flatten(name="flatten")(features)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dropout(0.5, name="dropout1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dropout(0.5, name="dropout2")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(features)
    return layers.Dense(num_classes, name="logits")(x)


def build_classifier(
    arch: str,
    num_classes: int,
    weights: str | Path | None = "imagenet",
    freeze_base: bool = False,
    image_size: int = 150,
    preprocessing: str | None = None,
) -> keras.Model:
    """Build model M: [0,1] RGB [image_size, image_size, 3] in, logits over num_classes out.

    preprocessing: the input mapping inside the model (None: the architecture's, see ``Preprocess``;
    "raw" reproduces the BigData code, which gave ImageNet-pretrained models unnormalised input).

    weights: "imagenet" (from the Keras cache only; MissingWeightsError otherwise), None (random
    init), or a path to a notop base weights file for keras.applications. An architecture without
    pretrained weights (its registry ``weights_file`` is None: our own base builder, called on the
    preprocessed input tensor) always starts from scratch; the others' builder is the
    keras.applications constructor. freeze_base freezes everything but the new head (the KDD'19 setting).
    """
    info = registry.lookup(registry.ARCHS, arch, "architecture")
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    if weights is not None and str(weights).lower() == "none":
        weights = None
    builder = registry.load(info.builder)
    inputs = keras.Input((image_size, image_size, 3), dtype="float32", name="image")
    if info.weights_file is None:
        if weights is not None:
            raise ValueError(f"{arch} has no pretrained weights; use weights=None")
        features = builder(Preprocess(preprocessing or info.preprocessing, name="preprocess")(inputs))
    else:
        if weights == "imagenet":
            weights_file: Path | None = imagenet_weights_path(arch)
        elif weights is None:
            weights_file = None
        else:
            weights_file = Path(weights)
            if not weights_file.is_file():
                raise MissingWeightsError(f"base weights file {weights_file} for {arch} does not exist")
        base = builder(
            include_top=False,
            weights=str(weights_file) if weights_file else None,
            input_shape=(image_size, image_size, 3),
        )
        base.trainable = not freeze_base
        features = base(Preprocess(preprocessing or info.preprocessing, name="preprocess")(inputs))
    return keras.Model(inputs, _head(arch, features, num_classes), name=f"m_{arch}")


_COMPILED: "weakref.WeakKeyDictionary[keras.Model, Callable[[tf.Tensor], tf.Tensor]]" = weakref.WeakKeyDictionary()


def compiled_logits(model: keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """M's logits in inference mode as a tf.function, made once per model (weakly cached) and
    traced with a relaxed batch dimension, so a short last batch does not trace a new graph."""
    if model not in _COMPILED:
        _COMPILED[model] = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return _COMPILED[model]


def predict_classes(model: keras.Model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """M's predicted class ids (int64 [N], argmax of the logits), batched through ``compiled_logits``."""
    if len(images) == 0:
        return np.zeros(0, dtype=np.int64)
    if batch_size < 1:
        raise ValueError(f"batch size must be positive, got {batch_size}")
    logits_fn = compiled_logits(model)
    out = [np.argmax(logits_fn(tf.constant(images[i : i + batch_size])).numpy(), axis=1) for i in range(0, len(images), batch_size)]
    return np.concatenate(out).astype(np.int64)


@dataclass(frozen=True)
class ClassifierInfo:
    """The sidecar metadata of a saved classifier."""

    class_names: tuple[str, ...]
    arch: str
    image_size: int
    extra: dict = field(default_factory=dict)


def sidecar_path(path: str | Path) -> Path:
    """The JSON metadata file stored beside a ``.keras`` model file."""
    return Path(path).with_suffix(".json")


def _check_model_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"classifier files end in .keras, got {path}")
    return path


def save_classifier(
    model: keras.Model,
    path: str | Path,
    class_names: Sequence[str],
    arch: str,
    image_size: int,
    extra: dict | None = None,
) -> Path:
    """Write model (``path``, .keras) and its JSON sidecar atomically; returns the model path."""
    path = _check_model_path(path)
    if model.output_shape[-1] != len(class_names):
        raise ValueError(f"model outputs {model.output_shape[-1]} logits but {len(class_names)} class names were given")
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"class_names": list(class_names), "arch": arch, "image_size": int(image_size), "extra": extra or {}}
    tmp_model = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    tmp_info = path.with_name(f".{path.stem}.tmp{os.getpid()}.json")
    model.save(tmp_model)
    tmp_info.write_text(json.dumps(info, indent=2, sort_keys=True))
    os.replace(tmp_model, path)
    os.replace(tmp_info, sidecar_path(path))
    return path


def read_classifier_info(path: str | Path) -> ClassifierInfo:
    """Read only the sidecar of a saved classifier (cheap: no model load)."""
    meta = sidecar_path(_check_model_path(path))
    if not meta.is_file():
        raise FileNotFoundError(f"classifier metadata {meta} not found (expected beside {path})")
    raw = json.loads(meta.read_text())
    return ClassifierInfo(tuple(raw["class_names"]), raw["arch"], int(raw["image_size"]), raw.get("extra", {}))


def load_classifier(path: str | Path) -> tuple[keras.Model, ClassifierInfo]:
    """Load a classifier saved by save_classifier, checking it against its metadata."""
    path = _check_model_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"classifier {path} not found")
    info = read_classifier_info(path)
    try:
        model = keras.saving.load_model(path, compile=False)
    except ValueError as err:  # e.g. Keras safe mode refusing a Lambda layer: name the file
        raise ValueError(f"{path}: Keras refused to load the model: {str(err).splitlines()[0]}") from err
    if model.output_shape[-1] != len(info.class_names):
        raise ValueError(f"{path}: {model.output_shape[-1]} logits but {len(info.class_names)} class names in metadata")
    return model, info
