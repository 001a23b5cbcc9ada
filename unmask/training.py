"""Train model M on class-set image folders, optionally adversarially, and the AT eps line search.

Recipes (``unmask.registry.TRAIN_PRESETS``): ``bigdata2020`` fine-tunes the whole network with SGD
(lr 0.001, momentum 0.9, weight decay 2e-4, batch 32, 30 epochs, best validation epoch, seed 5, no
augmentation); ``kdd2019`` freezes the ImageNet base and trains the new dense head only. The KDD paper
gives no optimizer settings, so it reuses the same SGD. Weight decay is PyTorch's coupled form
(``wd * w`` added to the gradient before momentum) over every trainable variable, as the BigData
code's ``torch.optim.SGD(weight_decay=...)``. ``optimizer="adam"`` swaps SGD for Adam (same coupled
decay, as ``torch.optim.Adam(weight_decay=...)``) for the thesis' optimiser comparison (Tables 4-5).

Adversarial training (Madry et al.): every batch is replaced by its PGD-Linf adversarial version
(eps 4, 7 steps, the attack preset's step: 2.0 in [0,1] units for ``bigdata2020_legacy``), crafted
with the model in inference mode; the kept epoch maximizes the mean of benign and adversarial
validation accuracy under the preset's PGD-Linf at eps 8 (its 20 steps), as the original selected it.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from unmask import registry
from unmask.attack_specs import AttackSpec, adversarial_spec, preset_spec
from unmask.attacks import attack, perturb
from unmask.classifiers import build_classifier, load_classifier, predict_classes, read_classifier_info, save_classifier
from unmask.images import iter_batches, list_image_folder

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """Where the model went and how its kept epoch scored."""

    model_path: Path
    best_epoch: int
    val_accuracy: float
    val_adv_accuracy: float | None
    history: list[dict]
    reused: bool
    log_path: Path


def split_items(items: list, fraction: float, seed: int) -> tuple[list, list]:
    """Seeded random (train, val) split holding out ``fraction`` of the items (at least one)."""
    order = np.random.default_rng(seed).permutation(len(items))
    n_val = max(1, int(round(len(items) * fraction)))
    return [items[i] for i in order[n_val:]], [items[i] for i in order[:n_val]]


def validation_items(train_dir: str | Path, val_dir: str | Path | None, class_names: Sequence[str], preset: str, seed: int) -> tuple[list, list]:
    """(train, val) items: val_dir's images, or the preset's seeded hold-out of train_dir."""
    train_items = list_image_folder(train_dir, class_names)
    if val_dir is not None:
        return train_items, list_image_folder(val_dir, class_names)
    return split_items(train_items, registry.lookup(registry.TRAIN_PRESETS, preset, "training preset").val_fraction, seed)


def load_items(items: Sequence, size: int) -> tuple[np.ndarray, np.ndarray]:
    """All images of ``items`` in memory (validation sets only: small), skipping unreadable ones."""
    xs, ys = [], []
    for x, y, _ in iter_batches(items, size, 64):
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ValueError("no readable validation images")
    return np.concatenate(xs), np.concatenate(ys)


def _make_flip(size: int, seed: int):
    """A compiled, seeded random horizontal flip (p = 0.5 per image)."""
    flips = tf.random.Generator.from_seed(seed)

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
    def flip(x):
        return tf.where(flips.uniform([tf.shape(x)[0], 1, 1, 1]) < 0.5, x[:, :, ::-1, :], x)

    return flip


def make_optimizer(recipe: registry.TrainRecipe) -> keras.optimizers.Optimizer:
    """The recipe's optimiser: SGD with its momentum, or Adam (Keras' betas and epsilon) at its learning rate."""
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=recipe.learning_rate)
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=recipe.learning_rate, momentum=recipe.momentum)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; valid: {', '.join(registry.OPTIMIZERS)}")


def _make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, weight_decay: float, size: int):
    """A compiled optimiser step with coupled (PyTorch-style) weight decay; returns (mean loss, # correct)."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    signature = [tf.TensorSpec([None, size, size, 3], tf.float32), tf.TensorSpec([None], tf.int64)]

    @tf.function(input_signature=signature)
    def step(x, y):
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients([(g + weight_decay * v, v) for g, v in zip(grads, variables)])
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
        return loss, correct

    return step


def images_stamp(items: Sequence) -> str:
    """What a list of (path, label) training images is, for the request: a hash of each file's name,
    label and size. Images regenerated differently or replaced in the same folder change it (the
    folder's path alone would not); an identical regeneration keeps it."""
    listing = [(Path(path).name, int(label), Path(path).stat().st_size) for path, label in items]
    return hashlib.sha1(json.dumps(listing).encode()).hexdigest()


def _request(**kwargs) -> dict:
    """The JSON-normalized training request stored in the model's metadata (for idempotence)."""
    return json.loads(json.dumps(kwargs, default=str))


def train_classifier(
    train_dir: str | Path,
    val_dir: str | Path | None,
    class_names: Sequence[str],
    arch: str,
    out_path: str | Path,
    preset: str = registry.DEFAULT_TRAIN_PRESET,
    epochs: int | None = None,
    image_size: int | None = None,
    weights: str | Path | None = None,
    adversarial_eps: float | None = None,
    seed: int = 5,
    batch_size: int | None = None,
    attack_preset: str | None = None,
    learning_rate: float | None = None,
    flip: bool | None = None,
    optimizer: str | None = None,
    preprocessing: str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train M on ``<train_dir>/<class>/*`` and save the best-validation epoch to ``out_path`` (.keras).

    val_dir None holds out the preset's 10% of train_dir (seeded). weights: None trains from
    scratch, "imagenet" or a path loads a base (see build_classifier); the preset's frozen base
    applies only with pretrained weights. epochs, image_size, batch_size, learning_rate, flip
    (random horizontal flips, p = 0.5), optimizer (sgd | adam) and attack_preset override the
    training preset's (``registry.TRAIN_PRESETS``); preprocessing overrides the architecture's input mapping.
    adversarial_eps (0-255 units) turns on PGD-Linf adversarial training with the attack preset's
    step; its kept epoch maximises the mean of benign and adversarial validation accuracy under the
    preset's PGD-Linf at the recipe's selection budget. Idempotent: an existing model whose stored
    request matches is returned.
    """
    settings = registry.lookup(registry.TRAIN_PRESETS, preset, "training preset").resolved(
        epochs=epochs, image_size=image_size, batch_size=batch_size, learning_rate=learning_rate,
        adversarial_attack_preset=attack_preset, flip=flip, optimizer=optimizer)
    epochs, image_size, batch_size = settings.epochs, settings.image_size, settings.batch_size
    learning_rate, attack_preset = settings.learning_rate, settings.adversarial_attack_preset
    weights = None if weights is None or str(weights).lower() == "none" else str(weights)
    out_path = Path(out_path)
    log_path = out_path.with_suffix(".csv")
    train_items, val_items = validation_items(train_dir, val_dir, class_names, preset, seed)
    request = _request(
        train_dir=Path(train_dir).resolve(), val_dir=Path(val_dir).resolve() if val_dir else None,
        images=images_stamp(train_items + val_items),
        class_names=list(class_names), arch=arch, preset=preset, epochs=epochs, image_size=image_size,
        weights=weights, adversarial_eps=adversarial_eps, seed=seed, batch_size=batch_size,
        learning_rate=learning_rate, flip=settings.flip, preprocessing=preprocessing,
        attack_preset=attack_preset if adversarial_eps is not None else None,
        selection_eps=settings.adversarial_selection_eps if adversarial_eps is not None else None,
        # recorded only when not SGD, so models trained before the option keep matching their request
        **({"optimizer": settings.optimizer} if settings.optimizer != "sgd" else {}),
    )
    if out_path.is_file():
        try:
            info = read_classifier_info(out_path)
        except (FileNotFoundError, ValueError, KeyError) as err:
            log.warning("retraining: cannot read metadata of %s (%s)", out_path, err)
        else:
            if info.extra.get("request") == request:
                return TrainResult(out_path, info.extra["best_epoch"], info.extra["val_accuracy"],
                                   info.extra["val_adv_accuracy"], info.extra["history"], True, log_path)
            log.warning("retraining: %s was trained for a different request (settings or images)", out_path)

    spec = selection = None
    if adversarial_eps is not None:
        spec = adversarial_spec(adversarial_eps, attack_preset, settings.adversarial_steps)
        selection = preset_spec(attack_preset, "pgd_linf", settings.adversarial_selection_eps)
    keras.utils.set_random_seed(seed)
    model = build_classifier(arch, len(class_names), weights, settings.freeze_base and weights is not None, image_size,
                             preprocessing)
    x_val, y_val = load_items(val_items, image_size)
    optim = make_optimizer(settings)
    optim.build(model.trainable_variables)
    step = _make_train_step(model, optim, settings.weight_decay, image_size)
    flip = _make_flip(image_size, seed) if settings.flip else tf.identity
    history: list[dict] = []
    best: tuple[float, int, list] = (-1.0, 0, model.get_weights())
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", newline="") as log_file:
        writer = csv.DictWriter(log_file, ["epoch", "train_loss", "train_accuracy", "val_accuracy", "val_adv_accuracy", "score", "seconds"])
        writer.writeheader()
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            order = np.random.default_rng([seed, epoch]).permutation(len(train_items))
            total_loss = total_correct = seen = 0.0
            bar = tqdm(total=len(order), desc=f"epoch {epoch}/{epochs}", unit="img", disable=not progress, leave=False)
            for x, y, _ in iter_batches([train_items[i] for i in order], image_size, batch_size):
                x, y = flip(tf.constant(x)), tf.constant(y)
                if spec is not None:  # attack the augmented batch, train on its adversarial version
                    x = perturb(model, x, y, spec)
                loss, correct = step(x, y)
                total_loss += float(loss) * len(y)
                total_correct += float(correct)
                seen += len(y)
                bar.update(len(y))
            bar.close()
            row = {"epoch": epoch, "train_loss": total_loss / max(seen, 1), "train_accuracy": total_correct / max(seen, 1)}
            row.update(evaluate_split(model, x_val, y_val, selection, batch_size, seed))
            row["seconds"] = time.perf_counter() - started
            history.append(row)
            writer.writerow(row)
            log_file.flush()
            log.info("epoch %d/%d: %s", epoch, epochs,
                     ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch" and v is not None))
            if row["score"] > best[0]:
                best = (row["score"], epoch, model.get_weights())
    model.set_weights(best[2])
    kept = history[best[1] - 1]
    extra = {"request": request, "best_epoch": best[1], "val_accuracy": kept["val_accuracy"],
             "val_adv_accuracy": kept["val_adv_accuracy"], "history": history,
             "adversarial_spec": spec.to_dict() if spec else None,
             "selection_spec": selection.to_dict() if selection else None}
    save_classifier(model, out_path, class_names, arch, image_size, extra)
    return TrainResult(out_path, best[1], kept["val_accuracy"], kept["val_adv_accuracy"], history, False, log_path)


def evaluate_split(model: keras.Model, x: np.ndarray, y: np.ndarray, spec: AttackSpec | None, batch_size: int, seed: int) -> dict:
    """Benign accuracy, adversarial accuracy under ``spec`` (or None) and the selection score
    (benign accuracy, or the mean of benign and adversarial accuracy when spec is given)."""
    if spec is None:
        accuracy = float(np.mean(predict_classes(model, x, batch_size) == y))
        return {"val_accuracy": accuracy, "val_adv_accuracy": None, "score": accuracy}
    result = attack(model, x, y, spec, batch_size=batch_size, seed=seed)
    accuracy = float(np.mean(result.predictions_clean == y))
    adv_accuracy = float(np.mean(~result.success))
    return {"val_accuracy": accuracy, "val_adv_accuracy": adv_accuracy, "score": (accuracy + adv_accuracy) / 2}


def eps_search(
    train_dir: str | Path,
    val_dir: str | Path | None,
    class_names: Sequence[str],
    arch: str,
    out_dir: str | Path,
    eps_values: Sequence[float] = (1, 2, 4, 6, 8, 16),
    eval_specs: Sequence[AttackSpec] | None = None,
    eval_eps: float = 8.0,
    attack_preset: str | None = None,
    **train_kwargs,
) -> list[dict]:
    """The AT line search: one adversarially trained model per eps (reused when already trained), each
    scored on validation by its mean accuracy over the benign images and every attack of
    ``eval_specs`` (the BigData paper's criterion: every attack cell of the experiment), so a tiny
    training eps cannot win by being easy to defend. ``eval_specs`` None: PGD-Linf at ``eval_eps``
    under the model's attack preset only (the original code's criterion). ``attack_preset`` None: the
    training recipe's (see ``train_classifier``)."""
    out_dir = Path(out_dir)
    rows = []
    for eps in eps_values:
        result = train_classifier(train_dir, val_dir, class_names, arch, out_dir / f"{arch}_at_eps{eps:g}.keras",
                                  adversarial_eps=eps, attack_preset=attack_preset, **train_kwargs)
        model, info = load_classifier(result.model_path)
        request = info.extra["request"]
        specs = eval_specs or [preset_spec(request["attack_preset"], "pgd_linf", eval_eps)]
        _, val_items = validation_items(train_dir, val_dir, class_names, request["preset"], request["seed"])
        x_val, y_val = load_items(val_items, info.image_size)
        row = {"train_eps": eps, "val_accuracy": float(np.mean(predict_classes(model, x_val, request["batch_size"]) == y_val))}
        for spec in specs:
            adversarial = attack(model, x_val, y_val, spec, batch_size=request["batch_size"], seed=request["seed"],
                                 predict_clean=False)
            row[f"val_adv_accuracy_{spec.label()}"] = float(np.mean(~adversarial.success))
        accuracies = [v for k, v in row.items() if k.startswith("val_")]
        rows.append({**row, "score": float(np.mean(accuracies)), "model": str(result.model_path)})
    return rows


def format_eps_table(rows: list[dict]) -> str:
    """The line-search table as Markdown, best score marked."""
    if not rows:
        return ""
    best = max(rows, key=lambda r: r["score"])
    keys = [k for k in rows[0] if k != "model"]
    lines = ["| " + " | ".join(keys) + " | best |", "|" + "---|" * (len(keys) + 1)]
    for row in rows:
        cells = [f"{row[k]:g}" if k == "train_eps" else f"{row[k]:.4f}" for k in keys]
        lines.append("| " + " | ".join(cells) + f" | {'*' if row is best else ''} |")
    return "\n".join(lines)
