"""`unmask run PRESET`: the whole chain, data -> K -> M -> attacks and evaluation -> report.

Every stage skips what is already on disk (converted data, checkpoints, finished cells), so a
second run of the same preset only re-reads, and an interrupted run resumes where it stopped.
Every run writes `run.json` beside its results: preset, versions, seeds, git commit, timings and
where each artifact is.
"""
from __future__ import annotations

import logging
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable

from unmask.evaluation import Grid, MissingInputError, evaluation_inputs, variant_paths
from unmask.plan import (
    class_set_options, classifier_options, convert_options, eps_search_options, k_map_options, part_extractor_options,
    subsample_options, synthetic_options,
)
from unmask.paper_numbers import K_MAP, K_ROW, split_count_table
from unmask.presets import ClassifierPreset, ForegroundPreset, ModelSpec, Preset, VAEPreset
from unmask.fileio import write_json_atomic

log = logging.getLogger(__name__)

PACKAGES = ("tensorflow", "keras", "numpy", "foolbox", "cleverhans", "pycocotools", "scikit-learn", "h5py")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def prepare_data(preset: Preset) -> dict[str, str]:
    """Generate (synthetic) or check (real) raw data, then convert it for K and M."""
    from dataset_tools import pascal_part, subsample, synthetic, voc

    data = preset.data
    if data.synthetic is not None:
        log.info("generating the synthetic dataset in %s (a minute or two the first time)", data.root)
        synthetic.generate(**synthetic_options(preset))
    check_stage_inputs(preset, ("data",))
    parts = pascal_part.convert(**convert_options(preset))
    print(pascal_part.format_summary(parts))
    sets = voc.build_class_sets(**class_set_options(preset))
    print(voc.format_summary(sets))
    if data.subsample is not None:
        kept = subsample.subsample_class_sets(**subsample_options(preset))
        print(f"subsample ({data.subsample:g} of every class and split, lists in {data.classsets_dir}/subsample.json): "
              + ", ".join(f"{cs} {c['train']}/{c['val']}/{c['test']}" for cs, c in kept["counts"].items()))
    k_row = {split: info["images"] for split, info in parts["splits"].items()}
    placed = {cs: {split: sum(per.values()) for split, per in splits.items()} for cs, splits in sets["counts"].items()}
    print(split_count_table({f"ours: {data.split} split": {K_ROW: k_row, **sets["voc_counts"]}, "ours: placed": placed}))
    return {"parts": str(data.parts_dir), "classsets": str(data.classsets_dir)}


def prepare_part_extractor(preset: Preset) -> str:
    """K's checkpoint: trained from the COCO parts splits when the preset says how and it is missing."""
    spec = preset.extractor
    if spec.checkpoint.is_file():
        return str(spec.checkpoint)
    check_stage_inputs(preset, ("k",))
    from unmask.part_model import train_part_extractor

    train_part_extractor(**part_extractor_options(preset))
    return str(spec.checkpoint)


def score_part_extractor(preset: Preset) -> str:
    """K's COCO AP on the parts test split beside the papers' 0.56, written to <output>/k_map.json."""
    from unmask.part_model import format_part_extractor_map, part_extractor_map

    check_stage_inputs(preset, ("k_map",))
    result = part_extractor_map(**k_map_options(preset))
    print(format_part_extractor_map(result))
    path = preset.output / "k_map.json"
    write_json_atomic(path, {"checkpoint": str(preset.extractor.checkpoint), "published_map": K_MAP, **result})
    return str(path)


def prepare_models(preset: Preset) -> dict[str, str]:
    """Every M (and adversarially trained M) of the preset, trained when missing."""
    from unmask.training import train_classifier

    check_stage_inputs(preset, ("m",))
    paths = {}
    for model in preset.models:
        for cs in preset.class_sets:
            for adversarial, path in zip((False, True), variant_paths(preset, model, cs).values()):
                if model.checkpoints is None:
                    train_classifier(**classifier_options(preset, model, cs, adversarial))
                else:
                    log.info("M %s: reusing the given checkpoint %s (not trained here)", path.stem, path)
                paths[f"{model.name}/{cs}{'_at' if adversarial else ''}"] = str(path)
    return paths


def eps_search(preset: Preset) -> dict[str, str]:
    """The AT line search (BigData: eps 4 chosen among 1, 2, 4, 6, 8, 16): per model x class set a table
    (eps_search.json) and the papers' Fig. A4/A5 (eps_search.png: validation accuracy per training eps,
    a bar per attack)."""
    from unmask.report.figures import accuracy_bars
    from unmask.training import eps_search as search

    out = {}
    for model in preset.models:
        for cs in preset.class_sets:
            options = eps_search_options(preset, model, cs)
            rows = search(**options)
            folder = options["out_dir"]
            write_json_atomic(folder / "eps_search.json", rows)
            best = max(rows, key=lambda r: r["score"])
            print(f"\nAT eps search, {model.name} {cs} (score = mean validation accuracy, benign and attacked):")
            for row in rows:
                marker = "  <- best" if row is best else ""
                print(f"  eps {row['train_eps']:>4g}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()
                      if isinstance(v, float) and k != "train_eps") + marker)
            series = {key.removeprefix("val_adv_accuracy_").removeprefix("val_"): [100 * r[key] for r in rows]
                      for key in rows[0] if key.startswith("val_")}
            accuracy_bars(f"AT eps search, {model.name} {cs}: validation accuracy per training eps",
                          [f"eps {r['train_eps']:g}" for r in rows], series, folder, "eps_search")
            out[f"{model.name}/{cs}"] = str(folder / "eps_search.json")
    return out


def check_stage_inputs(preset: Preset, stages: tuple[str, ...]) -> None:
    """Before the first stage: every input file of every stage to run that no earlier stage makes
    must exist; one MissingInputError names them all (each path once)."""
    missing: dict[Path, str] = {}
    data, k = preset.data, preset.extractor
    if "data" in stages and data.synthetic is None:
        voc_root = data.root / "VOC2010"
        for name in ("JPEGImages", "Annotations_Part", "Annotations" if data.split == "ours" else "ImageSets/Main"):
            missing[voc_root / name] = ("raw data folder (VOC2010 JPEGs, XML and ImageSets, PASCAL-Part .mat; "
                                        "see README, 'Real data')")
        options = class_set_options(preset)
        for name in ("imagenet", "flickr"):
            if options[name] is not None:
                missing[Path(options[name])] = f"{name} folder the preset asks for (data.{name})"
    if "k" in stages and k.train is None:
        missing[k.checkpoint] = ("part extractor K checkpoint, and no part_extractor.train section to train one "
                                 "(download UnMask's mask_rcnn_parts_0040.h5 there)")
    if "k" in stages and k.train is not None and k.train.init_weights is not None and not k.checkpoint.is_file():
        missing[Path(k.train.init_weights)] = "K's initial weights (part_extractor.train.init_weights)"
    if "k_map" in stages:
        if "data" not in stages:
            missing.setdefault(data.parts_dir / "test.json", "PASCAL-Part COCO test split (the data stage writes it)")
        if not ("k" in stages and k.train is not None):
            missing.setdefault(k.checkpoint, "part extractor K checkpoint to score (part_extractor.checkpoint)")
    for stage in {"m", "eps_search"} & set(stages):
        missing.update(imagenet_weights_needed(preset.models, lambda model: stage == "eps_search" or any(
            not path.is_file() for cs in preset.class_sets for path in variant_paths(preset, model, cs).values())))
    if "m" in stages:
        for model in preset.models:
            if model.checkpoints is not None:
                for cs in preset.class_sets:
                    for path in variant_paths(preset, model, cs).values():
                        missing[path] = f"model M checkpoint (models[{model.name}].checkpoints)"
    if "evaluate" in stages:
        made = {s for s in ("data", "m") if s in stages} | ({"k"} if "k" in stages and k.train is not None else set())
        for stage, path, what in evaluation_inputs(preset):
            if stage not in made:
                missing.setdefault(path, what)
    absent = [f"{what}: {path}" for path, what in missing.items() if not path.exists()]
    if absent:
        raise MissingInputError("missing inputs, nothing was run:\n  " + "\n  ".join(absent))


def imagenet_weights_needed(models: Iterable[ModelSpec], trains: Callable[[ModelSpec], bool]) -> dict[Path, str]:
    """The ImageNet weights file (where Keras keeps it) of every model that ``trains`` from ImageNet
    weights and that is not in the Keras cache: {path: what it is and how to get it}."""
    from unmask import registry

    needed = {}
    for model in models:
        if model.checkpoints is not None or model.weights != "imagenet" or not trains(model):
            continue
        from unmask.classifiers import MissingWeightsError, imagenet_weights_path, keras_cache_dirs  # TensorFlow

        try:
            imagenet_weights_path(model.arch)
        except MissingWeightsError:
            file_name = registry.ARCHS[model.arch].weights_file.split("/")[-1]
            needed[keras_cache_dirs()[0] / file_name] = (
                f"ImageNet weights of {model.arch} (models[{model.name}].weights: imagenet; download "
                f"{registry.weights_url(model.arch)}, or train from scratch with weights: none)")
    return needed


def run(preset: Preset | ClassifierPreset, stages: tuple[str, ...] | None = None) -> Path:
    """Run the given stages (default: the preset's); returns the run folder (its run.json lists what was made).
    A classifier-only preset runs whole (``evaluation.classifier.run_classifier_experiment``).

    Every input of every stage is checked first, so a missing file stops the run before any work."""
    if isinstance(preset, ClassifierPreset):
        from unmask.evaluation.classifier import run_classifier_experiment

        return run_classifier_experiment(preset)
    if isinstance(preset, ForegroundPreset):
        from unmask.evaluation.foreground import run_foreground_experiment

        return run_foreground_experiment(preset)
    if isinstance(preset, VAEPreset):
        from unmask.evaluation.vae import run_vae_experiment

        return run_vae_experiment(preset)
    stages = stages or preset.stages
    check_stage_inputs(preset, stages)
    run_dir = preset.output
    run_dir.mkdir(parents=True, exist_ok=True)
    log.info("run folder: %s", run_dir.resolve())
    manifest: dict[str, Any] = {
        "preset": preset.source,
        "preset_name": preset.name,
        "paper": preset.paper,
        "seed": preset.seed,
        "versions": _versions(),
        "git_commit": _git_commit(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "timings_s": {},
        "artifacts": {},
    }
    steps: dict[str, Callable[[], Any]] = {
        "data": lambda: prepare_data(preset),
        "k": lambda: prepare_part_extractor(preset),
        "k_map": lambda: score_part_extractor(preset),
        "m": lambda: prepare_models(preset),
        "eps_search": lambda: eps_search(preset),
        "evaluate": lambda: _evaluate(preset, manifest),
        "report": lambda: _report(run_dir),
    }
    for name in stages:
        started = time.time()
        log.info("== stage %s ==", name)
        manifest["artifacts"][name] = steps[name]()
        manifest["timings_s"][name] = round(time.time() - started, 1)
        write_json_atomic(run_dir / "run.json", manifest)
    return run_dir


def _evaluate(preset: Preset, manifest: dict[str, Any]) -> dict[str, Any]:
    grid = Grid(preset)
    cells = grid.run()
    manifest["evaluation"] = {**grid.stats, "k_images": grid.extractor.images_seen, "cells": len(cells)}
    return {"results": str(preset.output / "results.json"), "cells": str(preset.output / "cells")}


def _report(run_dir: Path) -> list[str]:
    from unmask.report import write_report

    return [str(p) for p in write_report(run_dir)]
