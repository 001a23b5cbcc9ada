"""A VAE-detector experiment (``experiment: vae`` presets): Joe, Hwang & Shin's disentangling VAE detector.

1. Data: the digits miniature, or the user's MNIST / Fashion-MNIST5 IDX files or Cat & Dog faces
   (``dataset_tools.digits`` / ``dataset_tools.idx``), checked before any work.
2. Training: the min-max game (``unmask.vae_training.minmax_train``), resumed from its per-round stamps
   under ``<run>/training``; the trained detector is saved under ``<run>/detector``.
3. Benign accuracy (V Table 2): the VAE classifier, and a standard CNN (the substitute F_s) as "no defense".
4. Black-box detection (V Table 3): F_s attacked with each ``evaluation.black_box`` attack on the test
   images; ROC AUC of our score and of Gong et al.'s binary detector (the same CNN with 2 outputs,
   trained on benign training images vs the plain training attack's images, crafted white-box against
   the VAE classifier). Positives are the attacked images that fool the VAE classifier, negatives as many
   benign test images (the facts sheet's default); "all" uses every attacked image.
5. White-box (V Figs. 6, 12, 13): the success ratio (misclassified, C1 and C2, over every attacked
   image) of each adaptive attack at every Linf eps; CW-L2_W's success ratio and mean distortion
   ||delta||_2 / sqrt(d) in 0-255 units over its successes (V Table 4).
6. ``results.json``, ``report/report.md`` (with V's numbers beside ours when the preset's paper is
   ``vae2019``), ``report/*.png|pdf`` figures and ``run.json`` (every round's figures, timings).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from unmask.evaluation.grid import MissingInputError
from unmask.fileio import write_json_atomic
from unmask.presets import VAEPreset

log = logging.getLogger(__name__)


def check_vae_inputs(preset: VAEPreset) -> None:
    """Before any work: the user's dataset files."""
    from dataset_tools.idx import check_catdog_folder, check_idx_folder

    try:
        if preset.data.dataset in ("mnist", "fmnist5"):
            check_idx_folder(preset.data.path)
        elif preset.data.dataset == "catdog":
            check_catdog_folder(preset.data.path)
    except FileNotFoundError as err:
        raise MissingInputError(f"missing inputs, nothing was run:\n  data.path: {err}") from None


def load_vae_data(preset: VAEPreset) -> dict[str, np.ndarray]:
    """The preset's train / test arrays, with its seeded per-class and test subsets."""
    from dataset_tools.digits import load_digits_split
    from dataset_tools.idx import FMNIST5_CLASSES, load_catdog, load_idx_dataset

    data = preset.data
    if data.dataset == "digits":
        out = load_digits_split(tuple(data.digits), seed=preset.seed)
    elif data.dataset == "catdog":
        out = load_catdog(data.path, seed=preset.seed)
    else:
        out = load_idx_dataset(data.path, FMNIST5_CLASSES if data.dataset == "fmnist5" else None)
    rng = np.random.default_rng(preset.seed)
    if data.max_train_per_class:
        keep = np.concatenate([rng.permutation(np.flatnonzero(out["y_train"] == c))[:data.max_train_per_class]
                               for c in np.unique(out["y_train"])])
        out["x_train"], out["y_train"] = out["x_train"][np.sort(keep)], out["y_train"][np.sort(keep)]
    if data.max_test_images and data.max_test_images < len(out["y_test"]):
        keep = np.sort(rng.permutation(len(out["y_test"]))[:data.max_test_images])
        out["x_test"], out["y_test"] = out["x_test"][keep], out["y_test"][keep]
    return out


def _spec(mapping: dict[str, Any], eps: float | None = None):
    from unmask.attack_specs import AttackSpec

    values = dict(mapping)
    if eps is not None:
        values["eps"] = eps
    return AttackSpec(**{"eps": None, **values})


def _auc_pair(benign: np.ndarray, attacked: np.ndarray) -> tuple[float | None, Any]:
    """AUC and ROC curve of scores (attacked = positive); None when a side is empty."""
    from unmask.metrics import auc, roc_curve

    if not len(benign) or not len(attacked):
        return None, None
    curve = roc_curve(np.r_[benign, attacked], np.r_[np.zeros(len(benign)), np.ones(len(attacked))])
    return auc(curve), curve


def black_box(preset: VAEPreset, detector, substitute, gong, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """V Table 3's protocol: per attack on F_s, AUC of ours and of Gong et al. (fooling and all x_a), and
    the ROC points of the fooling ones."""
    from unmask.attacks import perturb_batches
    from unmask.vae import batched

    rng = np.random.default_rng(preset.seed)
    ours_benign = batched(detector.score, x)
    gong_benign = _gong_score(gong, x)
    rows = {}
    for mapping in preset.evaluation.black_box:
        spec = _spec(mapping).resolved()
        adversarial = perturb_batches(substitute, x, y, spec, preset.evaluation.batch_size, preset.seed)
        fooled = np.argmax(batched(detector, adversarial), axis=1) != y
        negatives = np.sort(rng.permutation(len(x))[:int(fooled.sum())])
        ours, gongs = batched(detector.score, adversarial), _gong_score(gong, adversarial)
        row = {"fools_substitute": float(np.mean(np.argmax(batched(substitute, adversarial), axis=1) != y)),
               "fools_vae": float(fooled.mean()), "n_fooling": int(fooled.sum())}
        row["roc"] = {}
        for name, benign, attacked in (("ours", ours_benign, ours), ("gong", gong_benign, gongs)):
            row[f"auc_{name}"], curve = _auc_pair(benign[negatives], attacked[fooled])
            row[f"auc_{name}_all"], _ = _auc_pair(benign, attacked)
            row["roc"][name] = None if curve is None else {"fpr": curve.fpr.tolist(), "tpr": curve.tpr.tolist()}
        rows[spec.label()] = row
        log.info("black-box %s: AUC ours %s, Gong %s", spec.label(), row["auc_ours"], row["auc_gong"])
    return rows


def _gong_score(gong, x: np.ndarray) -> np.ndarray:
    """Gong et al.'s detection score: logit(adversarial) - logit(benign)."""
    from unmask.vae import batched

    logits = batched(gong, x)
    return logits[:, 1] - logits[:, 0]


def white_box(preset: VAEPreset, detector, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Success ratio of each adaptive attack at each eps, and CW-L2_W's success ratio and distortion."""
    import tensorflow as tf

    from unmask.attacks import perturb_batches
    from unmask.vae_attacks import succeeded

    evaluation = preset.evaluation
    curves: dict[str, dict[str, float]] = {}
    for mapping in evaluation.white_box:
        name = mapping["name"]
        curves[name] = {}
        for eps in evaluation.white_box_eps:
            spec = _spec(mapping, eps).resolved()
            adversarial = perturb_batches(detector, x, y, spec, evaluation.batch_size, preset.seed)
            success = succeeded(detector, tf.constant(adversarial), y, False)
            curves[name][f"{eps:g}"] = float(success.mean())
            log.info("white-box %s: success ratio %.3f", spec.label(), success.mean())
    cw = None
    if evaluation.cw is not None:
        spec = _spec(evaluation.cw).resolved()
        adversarial = perturb_batches(detector, x, y, spec, evaluation.batch_size, preset.seed)
        success = succeeded(detector, tf.constant(adversarial), y, False)
        distortion = np.sqrt(np.sum(np.square(adversarial - x).reshape(len(x), -1), axis=1) / x[0].size) * 255.0
        cw = {"attack": spec.label(), "success_ratio": float(success.mean()),
              "mean_l2_distortion": float(distortion[success].mean()) if success.any() else None,
              "n": len(x)}
        log.info("white-box %s: success ratio %.3f, distortion %s", spec.label(), cw["success_ratio"],
                 cw["mean_l2_distortion"])
    return {"success_ratio": curves, "cw_l2_w": cw, "n": len(x)}


def _train_models(preset: VAEPreset, data: dict[str, np.ndarray]):
    """The min-max-trained detector (resumed from its stamps), F_s, and Gong et al.'s detector."""
    import keras

    from unmask.attacks import perturb_batches
    from unmask.vae import VAEDetector, architecture, save_detector
    from unmask.vae_training import MinMaxSettings, TrainSettings, minmax_train, train_cnn

    training, x, y = preset.training, data["x_train"], data["y_train"]
    arch = architecture(training.architecture)
    if tuple(x.shape[1:]) != arch.input_shape:
        raise ValueError(f"training.architecture {arch.name} takes {arch.input_shape} images; the data are {x.shape[1:]}")
    classes = int(y.max()) + 1
    settings = MinMaxSettings(
        TrainSettings(training.epochs, training.batch_size, training.learning_rate, training.alpha, training.beta,
                      training.density, training.penalty_on),
        _spec(training.attack), init_epochs=training.init_epochs, rounds=training.rounds,
        stop_ratio=training.stop_ratio, sources_per_class=training.sources_per_class,
        attack_batch=preset.evaluation.batch_size, seed=preset.seed)
    keras.utils.set_random_seed(preset.seed)
    detector, rounds = minmax_train(VAEDetector(arch, classes), x, y, settings, preset.output / "training")
    save_detector(detector, preset.output / "detector", extra={"rounds": len(rounds) - 1})
    epochs = preset.evaluation.classifier_epochs
    substitute = train_cnn(arch.input_shape, classes, x, y, epochs, seed=preset.seed)
    gong_images = perturb_batches(detector, x, y, _spec(preset.evaluation.gong_attack).resolved(),
                                  preset.evaluation.batch_size, preset.seed)
    gong = train_cnn(arch.input_shape, 2, np.concatenate([x, gong_images]),
                     np.r_[np.zeros(len(x)), np.ones(len(x))].astype(np.int64), epochs, seed=preset.seed + 1)
    return detector, rounds, substitute, gong


def run_vae_experiment(preset: VAEPreset) -> Path:
    """Train (or resume) and score the VAE detector; writes results.json, the report and run.json."""
    from unmask.vae import batched

    check_vae_inputs(preset)
    out = preset.output
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.time()
    data = load_vae_data(preset)
    timings["data"] = round(time.time() - started, 1)
    started = time.time()
    detector, rounds, substitute, gong = _train_models(preset, data)
    timings["train"] = round(time.time() - started, 1)
    x, y = data["x_test"], data["y_test"]
    started = time.time()
    benign = {"vae": float(np.mean(np.argmax(batched(detector, x), axis=1) == y)),
              "no_defense": float(np.mean(np.argmax(batched(substitute, x), axis=1) == y))}
    blackbox = black_box(preset, detector, substitute, gong, x, y)
    timings["black_box"] = round(time.time() - started, 1)
    started = time.time()
    limit = preset.evaluation.max_white_box_images
    pick = np.sort(np.random.default_rng(preset.seed).permutation(len(x))[:limit]) if limit else np.arange(len(x))
    whitebox = white_box(preset, detector, x[pick], y[pick])
    timings["white_box"] = round(time.time() - started, 1)
    results = {"preset": preset.name, "dataset": preset.data.dataset, "n_train": len(data["y_train"]),
               "n_test": len(y), "benign_accuracy": benign,
               "black_box": blackbox,
               "white_box": whitebox, "rounds": [_round_summary(r) for r in rounds]}
    write_json_atomic(out / "results.json", results)
    from unmask.report.vae import write_vae_report

    report = write_vae_report(preset, results, out / "report")
    write_json_atomic(out / "run.json", {"preset": preset.source, "preset_name": preset.name, "paper": preset.paper,
                                         "seed": preset.seed, "timings_s": timings, "rounds": rounds,
                                         "artifacts": {"results": str(out / "results.json"),
                                                       "detector": str(out / "detector"),
                                                       "report": [str(p) for p in report]}})
    return out


def _round_summary(stamp: dict[str, Any]) -> dict[str, Any]:
    keys = ("round", "kind", "seconds", "success_ratio", "reached_ratio", "benign_accuracy")
    return {k: stamp[k] for k in keys if k in stamp}
