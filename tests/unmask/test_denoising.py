"""The non-local denoising block (identity at start, serialisation, gradients, memory guard) and the
surgery that puts it into ResNet101 after its four stage outputs."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from unmask.classifiers import RESNET_STAGE_OUTPUTS, build_classifier
from unmask.denoising import DenoisingMemoryError, NonLocalDenoise, affinity_bytes, insert_denoising

VARIANTS = [{"embed": True, "softmax": True}, {"embed": False, "softmax": True}, {"embed": True, "softmax": False}]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 6, 5, 8)).astype("float32")


def block_model(**options) -> keras.Model:
    inputs = keras.Input(X.shape[1:])
    return keras.Model(inputs, NonLocalDenoise(name="block", **options)(inputs))


@pytest.mark.parametrize("options", VARIANTS, ids=str)
def test_identity_at_initialisation(options):
    model = block_model(**options)
    for training in (False, True):
        np.testing.assert_allclose(model(X, training=training).numpy(), X, atol=1e-6)


def test_without_zero_init_the_block_changes_its_input():
    assert np.abs(block_model(zero_init_bn=False)(X).numpy() - X).max() > 1e-3


def test_embedded_gaussian_matches_the_formula():
    """z = x + BN(W y), y_i = softmax_j(theta_i . phi_j / sqrt(C/2)) x_j, checked in numpy with gamma = 1."""
    model = block_model()
    block = model.get_layer("block")
    block.norm.gamma.assign(np.ones(8, "float32"))
    flat = X.reshape(3, 30, 8)
    theta = flat @ block.theta.kernel.numpy()[0, 0] + block.theta.bias.numpy()
    phi = flat @ block.phi.kernel.numpy()[0, 0] + block.phi.bias.numpy()
    assert theta.shape[-1] == 4  # C/2
    logits = np.einsum("bnc,bmc->bnm", theta, phi) / np.sqrt(4)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    projected = np.einsum("bnm,bmc->bnc", weights, flat) @ block.project.kernel.numpy()[0, 0]
    bn = block.norm
    expected = flat + (projected - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + bn.epsilon) + bn.beta.numpy()
    np.testing.assert_allclose(model(X, training=False).numpy().reshape(3, 30, 8), expected, atol=1e-4)


def test_get_config_round_trip():
    block = NonLocalDenoise(embed=False, softmax=True, embed_ratio=0.25, bn_momentum=0.9, memory_limit_mb=64.0, name="b")
    clone = NonLocalDenoise.from_config(block.get_config())
    assert clone.get_config() == block.get_config()
    assert (clone.embed, clone.softmax, clone.embed_ratio, clone.memory_limit_mb) == (False, True, 0.25, 64.0)


@pytest.mark.parametrize("options", VARIANTS, ids=str)
def test_saved_and_reloaded_model_gives_the_same_outputs(tmp_path, options):
    model = block_model(zero_init_bn=False, **options)
    path = tmp_path / "block.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(reloaded(X).numpy(), model(X).numpy())
    assert reloaded.get_layer("block").get_config() == model.get_layer("block").get_config()


def _kernel_gradients(model, block):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(X, training=True) ** 2)
    variables = [block.theta.kernel, block.phi.kernel, block.norm.gamma]
    return [g.numpy() for g in tape.gradient(loss, variables)]


def test_gradients_reach_theta_and_phi_once_gamma_is_not_zero():
    model = block_model()
    block = model.get_layer("block")
    theta, phi, gamma = _kernel_gradients(model, block)
    assert not theta.any() and not phi.any()  # gamma = 0: the block's branch is cut
    assert np.abs(gamma).max() > 0  # ...but gamma itself learns
    keras.optimizers.SGD(0.1).apply_gradients([(tf.constant(gamma), block.norm.gamma)])  # one training step
    theta, phi, _ = _kernel_gradients(model, block)
    assert np.abs(theta).max() > 0 and np.abs(phi).max() > 0


def test_memory_guard_fires_before_allocating():
    need = affinity_bytes(3, 6, 5) / 2**20
    block = NonLocalDenoise(memory_limit_mb=need * 0.9)
    with pytest.raises(DenoisingMemoryError, match=r"6x5 feature map .* batch of 3 .*\(H\*W\)\^2"):
        block(X)
    assert block(X[:2]).shape == (2, 6, 5, 8)  # two images fit
    with pytest.raises(DenoisingMemoryError, match="batch of 1"):  # at build: one image is already too many
        block_model(memory_limit_mb=affinity_bytes(1, 6, 5) / 2**20 / 2)
    assert block_model(softmax=False, memory_limit_mb=1e-6)(X).shape == X.shape  # no N x N matrix: no guard


def test_memory_guard_in_a_graph_with_an_unknown_batch():
    model = block_model(memory_limit_mb=affinity_bytes(2, 6, 5) / 2**20)
    forward = tf.function(lambda x: model(x), input_signature=[tf.TensorSpec([None, 6, 5, 8])])
    assert forward(X[:2]).shape == (2, 6, 5, 8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="memory limit"):
        forward(X)


def test_surgery_refuses_an_unknown_layer():
    with pytest.raises(ValueError, match="no layer"):
        insert_denoising(block_model(), ["conv9_out"])


def test_resnet101_fd_is_resnet101_with_identity_blocks_after_the_stage_outputs():
    """Random weights, 32 px: the FD model reuses ResNet101's layers, so with zero-initialised blocks
    its logits equal the plain model's; each block reads its stage output and sits on the path."""
    plain = build_classifier("resnet101", 3, weights=None, image_size=32)
    fd = build_classifier("resnet101_fd", 3, weights=None, image_size=32)
    plain_base = plain.get_layer("resnet101")
    fd_base = fd.get_layer("resnet101_fd4")
    for layer in plain_base.layers[1:]:
        fd_base.get_layer(layer.name).set_weights(layer.get_weights())
    fd.get_layer("logits").set_weights(plain.get_layer("logits").get_weights())
    x = RNG.random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_allclose(fd(x, training=False).numpy(), plain(x, training=False).numpy(), atol=1e-5)

    names = [layer.name for layer in fd_base.layers]
    blocks = [n for n in names if n.endswith("_denoise")]
    assert blocks == [f"{n}_denoise" for n in RESNET_STAGE_OUTPUTS]
    for stage in RESNET_STAGE_OUTPUTS:
        block = fd_base.get_layer(f"{stage}_denoise")
        assert names.index(block.name) == names.index(stage) + 1
        (source,) = block._inbound_nodes[0].input_tensors
        assert source._keras_history.operation.name == stage
    assert len(fd_base.layers) == len(plain_base.layers) + 4
    assert len(fd.weights) == len(plain.weights) + 4 * 9  # theta, phi (kernel, bias), project, BN (4)
    fd_base.get_layer("conv3_block4_out_denoise").norm.gamma.assign(np.ones(512, "float32"))
    assert np.abs(fd(x, training=False).numpy() - plain(x, training=False).numpy()).max() > 1e-4


def test_small_cnn_fd_has_blocks_after_its_two_smaller_stages():
    model = build_classifier("small_cnn_fd", 3, weights=None, image_size=128)
    blocks = [layer for layer in model.layers if layer.name.endswith("_denoise")]
    assert [b.name for b in blocks] == ["s1_denoise", "s2_denoise"]
    for block in blocks:
        (source,) = block._inbound_nodes[0].input_tensors
        assert source._keras_history.operation.name == block.name.replace("_denoise", "_add")
    assert blocks[0].output.shape[1] < model.get_layer("s0_add").output.shape[1]  # not on the largest stage
