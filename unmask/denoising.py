"""Feature-denoising blocks (Xie et al. 2019) for model M, and the surgery that inserts them.

The thesis (Xiong 2021) keeps UnMask whole and gives M a non-local denoising block after the last
residual block of each of ResNet101's four stages. ``NonLocalDenoise`` is that block;
``insert_denoising`` re-calls the layers of an existing functional model (e.g.
``keras.applications.ResNet101``) with a block after each named layer, so the model's own layer
objects, and therefore its ImageNet weights, are reused unchanged.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import keras
import tensorflow as tf
from keras import layers, ops

DEFAULT_MEMORY_LIMIT_MB = 2048.0
"""Default ceiling for one block's affinity matrices (the whole batch)."""


class DenoisingMemoryError(MemoryError):
    """A non-local block whose affinity matrices would exceed its memory limit (raised before allocating)."""


def affinity_bytes(batch: int, height: int, width: int, itemsize: int = 4) -> int:
    """Bytes of the (H*W) x (H*W) affinity matrices a softmax block materialises for ``batch`` images:
    the logits and their softmax, both kept for the backward pass."""
    positions = height * width
    return 2 * batch * positions * positions * itemsize


@keras.saving.register_keras_serializable(package="unmask")
class NonLocalDenoise(layers.Layer):
    """A non-local means denoising block: ``z = x + BN(Conv1x1(y))`` with ``y_i = sum_j f(x_i, x_j) x_j / C(x)``.

    ``embed`` and ``softmax`` choose the affinity f, as Xie et al.'s ``non_local_op``:
      - embedded Gaussian (default, the thesis' choice): ``softmax_j(theta_i . phi_j / sqrt(d))`` with
        theta and phi 1x1 convolutions to ``d = embed_ratio * C`` channels (N(0, 0.01^2) kernels);
      - ``embed=False``: the Gaussian on the raw features, ``softmax_j(x_i . x_j / sqrt(C))``;
      - ``softmax=False``: the dot product ``theta_i . phi_j / N`` (N = H*W), computed as
        ``theta (phi^T x) / N`` so no N x N matrix is ever formed.
    The weighted mean is taken over the raw features x (no g embedding, thesis eq. 8). The 1x1 output
    convolution has no bias and is followed by batch normalisation whose gamma starts at 0
    (``zero_init_bn``), so a new block is the identity and does not disturb pretrained weights.

    Memory: the softmax variants hold a (H*W) x (H*W) affinity matrix per image, so their memory grows
    as (H*W)^2 (a 38x38 map, ResNet101's stage 2 at 150 px, needs 1444^2 floats = 8.3 MB per image
    and copy). A block whose matrices for the batch would exceed ``memory_limit_mb`` raises
    ``DenoisingMemoryError`` before allocating them: at build time for one image, at call time for
    the batch (in a graph with an unknown batch size, as an assertion that runs before the product).
    """

    def __init__(self, embed: bool = True, softmax: bool = True, embed_ratio: float = 0.5,
                 zero_init_bn: bool = True, bn_momentum: float = 0.99,
                 memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB, **kwargs: Any):
        super().__init__(**kwargs)
        if not 0 < embed_ratio <= 1:
            raise ValueError(f"embed_ratio must be in (0, 1], got {embed_ratio}")
        if memory_limit_mb <= 0:
            raise ValueError(f"memory_limit_mb must be positive, got {memory_limit_mb}")
        self.embed, self.softmax, self.embed_ratio = embed, softmax, embed_ratio
        self.zero_init_bn, self.bn_momentum, self.memory_limit_mb = zero_init_bn, bn_momentum, memory_limit_mb

    def build(self, input_shape: tuple) -> None:
        _, height, width, channels = input_shape
        if None in (height, width, channels):
            raise ValueError(f"{self.name}: a non-local block needs a known feature-map size, got {input_shape}")
        self.check_memory(1, height, width)
        self.positions = height * width
        self.embed_channels = max(1, int(channels * self.embed_ratio)) if self.embed else channels
        if self.embed:
            init = keras.initializers.RandomNormal(stddev=0.01)
            self.theta = layers.Conv2D(self.embed_channels, 1, kernel_initializer=init, name="theta")
            self.phi = layers.Conv2D(self.embed_channels, 1, kernel_initializer=init, name="phi")
            self.theta.build(input_shape)
            self.phi.build(input_shape)
        self.project = layers.Conv2D(channels, 1, use_bias=False, name="project")
        self.project.build(input_shape)
        self.norm = layers.BatchNormalization(momentum=self.bn_momentum, name="norm",
                                              gamma_initializer="zeros" if self.zero_init_bn else "ones")
        self.norm.build(input_shape)

    def check_memory(self, batch: int, height: int, width: int) -> None:
        """Raise DenoisingMemoryError when ``batch`` images of this size exceed the limit (softmax variants)."""
        need = affinity_bytes(batch, height, width) / 2**20
        if self.softmax and need > self.memory_limit_mb:
            raise DenoisingMemoryError(
                f"{self.name}: a non-local block on a {height}x{width} feature map needs {need:,.1f} MB of affinity "
                f"matrices for a batch of {batch} (memory grows as (H*W)^2), over its limit of "
                f"{self.memory_limit_mb:,.1f} MB: use smaller batches or images, or raise memory_limit_mb")

    def _guard(self, x):
        """x, after checking the batch's affinity memory: in Python when the batch size is known, else
        as a graph assertion the affinity product depends on."""
        batch, height, width = x.shape[0], x.shape[1], x.shape[2]
        if not self.softmax:
            return x
        if batch is not None:
            self.check_memory(batch, height, width)
            return x
        limit = int(self.memory_limit_mb * 2**20 // affinity_bytes(1, height, width))
        check = tf.debugging.assert_less_equal(
            tf.shape(x)[0], limit, message=f"{self.name}: a batch larger than {limit} images on a {height}x{width} "
            f"feature map exceeds the block's affinity memory limit of {self.memory_limit_mb:,.0f} MB "
            "(memory grows as (H*W)^2)")
        with tf.control_dependencies([check]):
            return tf.identity(x)

    def call(self, x, training=None):
        x = self._guard(x)
        flat = ops.reshape(x, (-1, self.positions, x.shape[-1]))
        theta, phi = (ops.reshape(f(x), (-1, self.positions, self.embed_channels)) for f in (self.theta, self.phi)) \
            if self.embed else (flat, flat)
        if self.softmax:
            logits = ops.einsum("bnc,bmc->bnm", theta, phi) / math.sqrt(self.embed_channels)
            mean = ops.einsum("bnm,bmc->bnc", ops.softmax(logits, axis=-1), flat)
        else:
            mean = ops.einsum("bnd,bdc->bnc", theta, ops.einsum("bmd,bmc->bdc", phi, flat)) / self.positions
        denoised = ops.reshape(mean, ops.shape(x))
        return x + self.norm(self.project(denoised), training=training)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "embed": self.embed, "softmax": self.softmax, "embed_ratio": self.embed_ratio,
                "zero_init_bn": self.zero_init_bn, "bn_momentum": self.bn_momentum,
                "memory_limit_mb": self.memory_limit_mb}


def insert_denoising(model: keras.Model, after: Sequence[str], name: str | None = None, **block: Any) -> keras.Model:
    """``model`` with a ``NonLocalDenoise`` (options ``block``) after the output of each layer named in
    ``after``, built by re-calling ``model``'s own layers on a new input: every weight is shared with
    ``model`` (load pretrained weights into it first). The blocks are named ``<layer>_denoise``."""
    missing = [n for n in after if n not in {layer.name for layer in model.layers}]
    if missing:
        raise ValueError(f"{model.name} has no layer(s) {missing} to put a denoising block after")
    blocks = {n: NonLocalDenoise(name=f"{n}_denoise", **block) for n in after}

    def operation(op):
        if op.name not in blocks:
            return op
        return lambda *args, **kwargs: blocks[op.name](op(*args, **kwargs))

    inputs = keras.Input(model.input_shape[1:], dtype=model.inputs[0].dtype, name=model.layers[0].name)
    # Keras 3's own graph walker: calls operation(layer) on every node in topological order.
    outputs = model._run_through_graph(inputs, operation_fn=operation)
    return keras.Model(inputs, outputs, name=name or f"{model.name}_fd")
