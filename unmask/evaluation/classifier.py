"""A classifier-only experiment (``experiment: classifier`` presets): the thesis' CIFAR-10 check (Table 6).

No K and no UnMask: every M, and its adversarially trained twin, is trained on CIFAR-10 (exported from
the user's python batches to class folders) and scored top-1 on the benign test images and under
every attack of the preset, crafted white-box against that model. ``results.json`` holds the
accuracies; ``report/report.md`` sets them beside the published ones (natural training: the thesis'
"benchmark" column; the AT twin: its benign and adversarial columns).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from unmask.evaluation.grid import MissingInputError, limit_items
from unmask.fileio import write_json_atomic, write_text_atomic
from unmask.paper_numbers import CIFAR10, PAPERS, published
from unmask.presets import ClassifierPreset
from unmask.results import NO_ATTACK, attack_label

log = logging.getLogger(__name__)


def check_classifier_inputs(preset: ClassifierPreset) -> None:
    """Before any work: the CIFAR-10 batches and the ImageNet weights of the models still to train."""
    from dataset_tools.cifar10 import check_cifar10
    from unmask.pipeline import imagenet_weights_needed

    problems = []
    try:
        check_cifar10(preset.cifar10)
    except FileNotFoundError as err:
        problems.append(str(err))
    needed = imagenet_weights_needed(preset.models, lambda model: not (preset.output / "models" / model.name).is_dir())
    problems += [f"{what}: {path}" for path, what in needed.items()]
    if problems:
        raise MissingInputError("missing inputs, nothing was run:\n  " + "\n  ".join(problems))


def _test_images(preset: ClassifierPreset, class_names: list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The test split (a seeded subset of evaluation.max_test_images), in memory."""
    from unmask.images import list_image_folder
    from unmask.training import load_items

    items = limit_items(list_image_folder(preset.data_dir / "test", class_names), preset.evaluation.max_test_images,
                        preset.seed)
    return load_items(items, size)


def score_model(path: Path, preset: ClassifierPreset, class_names: list[str]) -> dict[str, float]:
    """Top-1 accuracy of a saved M on the benign test images (key ``none``) and under each attack."""
    from unmask.attack_specs import preset_spec
    from unmask.attacks import attack
    from unmask.classifiers import load_classifier, predict_classes

    model, info = load_classifier(path)
    x, y = _test_images(preset, class_names, info.image_size)
    batch = preset.evaluation.batch_size
    accuracy = {NO_ATTACK: float(np.mean(predict_classes(model, x, batch) == y))}
    for entry in preset.attacks:
        result = attack(model, x, y, preset_spec(preset.attack_preset, entry.name, entry.eps), batch_size=batch,
                        seed=preset.seed, predict_clean=False)
        accuracy[entry.label()] = float(np.mean(~result.success))
    return accuracy


def report_lines(preset: ClassifierPreset, rows: list[dict]) -> list[str]:
    """The results as a Markdown table, the published number beside each where the preset's paper has one."""
    columns = [(NO_ATTACK, None), *((e.name, e.eps) for e in preset.attacks)]
    keys = [NO_ATTACK, *(e.label() for e in preset.attacks)]
    paper = preset.paper if preset.paper in PAPERS else None
    head = ["Model", "Training", *(attack_label(a, e) if a != NO_ATTACK else "Benign" for a, e in columns)]
    lines = [f"# {preset.name}: top-1 accuracy (%) on {CIFAR10}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        metric = "acc_at" if row["adversarial"] else "acc_none"
        cells = []
        for (attack, eps), key in zip(columns, keys):
            ours = f"{100 * row['accuracy'][key]:.2f}"
            theirs = published(paper, row["model"], CIFAR10, attack, eps, metric) if paper else None
            cells.append(ours if theirs is None else f"{ours} (paper {100 * theirs:.2f})")
        lines.append(f"| {row['model']} | {'adversarial' if row['adversarial'] else 'natural'} | " + " | ".join(cells) + " |")
    return lines + ["", "Every test image is scored; each attack is crafted white-box against the model in its row."]


def run_classifier_experiment(preset: ClassifierPreset) -> Path:
    """Export CIFAR-10, train every M (and AT twin; reused when already trained for the same request),
    score them; writes run.json, results.json and report/report.md under the preset's output."""
    from dataset_tools.cifar10 import export_cifar10
    from unmask.plan import classifier_experiment_options
    from unmask.training import train_classifier

    check_classifier_inputs(preset)
    timings: dict[str, float] = {}
    started = time.time()
    class_names = export_cifar10(preset.cifar10, preset.data_dir, seed=preset.seed)["classes"]
    timings["data"] = round(time.time() - started, 1)
    variants = [(model, adversarial, classifier_experiment_options(preset, model, adversarial, class_names))
                for model in preset.models for adversarial in ((False, True) if model.adversarial_training else (False,))]
    started = time.time()
    for _, _, options in variants:
        train_classifier(**options)
    timings["m"] = round(time.time() - started, 1)
    started = time.time()
    rows = []
    for model, adversarial, options in variants:
        rows.append({"model": model.name, "adversarial": adversarial, "checkpoint": str(options["out_path"]),
                     "accuracy": score_model(options["out_path"], preset, class_names)})
        log.info("%s%s: %s", model.name, " (AT)" if adversarial else "", rows[-1]["accuracy"])
    timings["evaluate"] = round(time.time() - started, 1)
    results = write_json_atomic(preset.output / "results.json", {"preset": preset.name, "rows": rows})
    report = write_text_atomic(preset.output / "report" / "report.md", "\n".join(report_lines(preset, rows)) + "\n")
    write_json_atomic(preset.output / "run.json", {"preset": preset.source, "preset_name": preset.name,
                                                   "paper": preset.paper, "seed": preset.seed, "timings_s": timings,
                                                   "artifacts": {"results": str(results), "report": [str(report)]}})
    return preset.output
