"""Weights in Matterport's h5 layout (Keras 2 ``save_weights``), read and written with h5py.

Layout: root attribute ``layer_names`` (bytes; split into layer_names0, layer_names1, ... when it
exceeds the HDF5 object-header limit), ``backend`` and ``keras_version``; one group per layer with
attribute ``weight_names`` (b"conv1/kernel:0", ...) and each weight a dataset at that path inside
the group. Nested models (rpn_model) are one group listing their sub-layers' weights. Some files
nest everything under ``model_weights``. Weights of a layer are matched by order with shape checks,
so TF1 names with "_1" suffixes load too; when a layer's weight names agree up to such suffixes
they are matched by name instead (the sub-layer order inside a nested model may differ).
"""
from __future__ import annotations

import logging
import os
import re
from typing import Collection, Sequence

import h5py
import keras
import numpy as np

log = logging.getLogger(__name__)

HDF5_OBJECT_HEADER_LIMIT = 64512


def layer_weight_entries(layer: keras.layers.Layer) -> list[tuple[str, keras.Variable]]:
    """[(h5 weight name, variable)] of a layer in Keras 2 order; nested models list their sub-layers."""
    if isinstance(layer, keras.Model):
        return [entry for sub in layer.layers for entry in layer_weight_entries(sub)]
    return [(f"{layer.name}/{variable.name}:0", variable) for variable in layer.weights]


def _save_attribute(group: h5py.Group, name: str, values: Sequence[bytes]) -> None:
    """Write a list of byte strings as Keras 2 does, chunked when above the header limit."""
    data = np.asarray(values, dtype="S") if len(values) else np.zeros([0], dtype="S1")
    chunks = 1
    while data.nbytes / chunks > HDF5_OBJECT_HEADER_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
        return
    for i, chunk in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{name}{i}"] = chunk


def _load_attribute(group: h5py.Group, name: str) -> list[str]:
    """Read a (possibly chunked) list-of-strings attribute as str."""
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values, i = [], 0
        while f"{name}{i}" in group.attrs:
            values.extend(group.attrs[f"{name}{i}"])
            i += 1
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _canonical(weight_name: str) -> str:
    """"rpn_conv_shared_1/kernel:0" -> "rpn_conv_shared/kernel": TF1 uniquifying suffix and ":0" dropped."""
    layer, _, weight = weight_name.rpartition("/")
    return re.sub(r"_\d+$", "", layer) + "/" + weight.split(":")[0]


def _align(entries: list[tuple[str, keras.Variable]],
           saved: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """The file's weights of one layer in the model's order: by canonical name when the names
    agree one to one, else in file order (Keras 2 behaviour)."""
    model_keys = [_canonical(name) for name, _ in entries]
    file_keys = [_canonical(name) for name, _ in saved]
    if len(set(model_keys)) == len(model_keys) and sorted(model_keys) == sorted(file_keys):
        by_key = dict(zip(file_keys, saved))
        return [by_key[key] for key in model_keys]
    return saved


def save_weights(model: keras.Model, filepath: str) -> None:
    """Write ``model``'s weights to ``filepath`` in Matterport's h5 layout."""
    os.makedirs(os.path.dirname(os.path.abspath(filepath)), exist_ok=True)
    with h5py.File(filepath, "w") as f:
        _save_attribute(f, "layer_names", [layer.name.encode("utf8") for layer in model.layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = keras.__version__.encode("utf8")
        for layer in model.layers:
            group = f.create_group(layer.name)
            entries = layer_weight_entries(layer)
            _save_attribute(group, "weight_names", [name.encode("utf8") for name, _ in entries])
            for name, variable in entries:
                group.create_dataset(name, data=np.asarray(variable.numpy()))


def read_weights(filepath: str, layers: Collection[str] | None = None) -> dict[str, list[tuple[str, np.ndarray]]]:
    """{layer name: [(weight name, array)]} of the layers with weights, in file order; with ``layers``,
    only those are read (a 250 MB checkpoint need not be loaded to inspect one layer)."""
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"weights file not found: {filepath}")
    try:
        f = h5py.File(filepath, "r")
    except OSError as error:
        raise ValueError(f"cannot read {filepath} as HDF5: {error}") from error
    with f:
        def has_layer_names(group: h5py.Group) -> bool:
            return any(key.startswith("layer_names") for key in group.attrs)

        root = f["model_weights"] if not has_layer_names(f) and "model_weights" in f else f
        if not has_layer_names(root):
            raise ValueError(f"{filepath} is not a Keras/Matterport weights file (no layer_names attribute)")
        result = {}
        for layer_name in _load_attribute(root, "layer_names"):
            if layers is not None and layer_name not in layers:
                continue
            if layer_name not in root:
                raise ValueError(f"{filepath}: layer {layer_name!r} is listed in layer_names but has no group")
            group = root[layer_name]
            names = _load_attribute(group, "weight_names")
            if names:
                result[layer_name] = [(name, np.asarray(group[name])) for name in names]
        return result


def load_weights(model: keras.Model, filepath: str, by_name: bool = False,
                 exclude: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Load Matterport-layout weights into ``model``; nothing is assigned unless every check passes.

    by_name: match layers by name; model layers absent from the file keep their values and are
    logged (e.g. the heads when loading a backbone). Otherwise the layers with weights must match
    in order, as in Keras 2. ``exclude`` names layers to skip (implies by_name). A shape or count
    mismatch raises ValueError naming every offending layer. Returns a report with the layer names
    ``loaded``, ``excluded``, ``missing`` (in the model, not in the file) and ``unused`` (in the
    file, not in the model).
    """
    exclude = set(exclude or ())
    if exclude:
        by_name = True
    file_layers = read_weights(filepath)
    model_layers = [layer for layer in model.layers if layer_weight_entries(layer)]
    unknown = exclude - {layer.name for layer in model.layers}
    if unknown:
        log.warning("exclude names layers the model does not have: %s", sorted(unknown))

    if by_name:
        pairs = [(layer, _align(layer_weight_entries(layer), file_layers[layer.name])) for layer in model_layers
                 if layer.name not in exclude and layer.name in file_layers]
        missing = [layer.name for layer in model_layers if layer.name not in exclude and layer.name not in file_layers]
    else:
        if len(file_layers) != len(model_layers):
            raise ValueError(f"{filepath} has {len(file_layers)} layers with weights, the model has "
                             f"{len(model_layers)}; layers only in the file: "
                             f"{sorted(set(file_layers) - {l.name for l in model_layers})}; only in the model: "
                             f"{sorted({l.name for l in model_layers} - set(file_layers))}. Use by_name=True.")
        pairs = [(layer, _align(layer_weight_entries(layer), saved))
                 for layer, saved in zip(model_layers, file_layers.values())]
        missing = []

    errors = []
    for layer, saved in pairs:
        entries = layer_weight_entries(layer)
        if len(entries) != len(saved):
            errors.append(f"{layer.name}: the model has {len(entries)} weights, the file {len(saved)}")
            continue
        for (name, variable), (saved_name, array) in zip(entries, saved):
            if tuple(variable.shape) != array.shape:
                errors.append(f"{layer.name}: {name} has shape {tuple(variable.shape)} in the model, "
                              f"{saved_name} has {array.shape} in the file")
    if errors:
        raise ValueError(f"cannot load {filepath}; mismatched layers (exclude them, e.g. the heads when "
                         f"NUM_CLASSES differs):\n  " + "\n  ".join(errors))
    if not pairs:
        raise ValueError(f"no layer of the model was found in {filepath}")

    for layer, saved in pairs:
        for (_, variable), (_, array) in zip(layer_weight_entries(layer), saved):
            variable.assign(array)
    model_names = {layer.name for layer in model_layers}
    report = {
        "loaded": [layer.name for layer, _ in pairs],
        "excluded": sorted(exclude & model_names),
        "missing": missing,
        "unused": [name for name in file_layers if name not in model_names],
    }
    log.info("loaded %d layers from %s", len(report["loaded"]), filepath)
    if report["excluded"]:
        log.info("skipped excluded layers: %s", ", ".join(report["excluded"]))
    for key in ("missing", "unused"):
        if report[key]:
            log.warning("skipped %s layers: %s", key, ", ".join(report[key]))
    return report
