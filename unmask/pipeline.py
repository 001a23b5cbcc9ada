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
from typing import Any, Callable

from unmask.evaluation import Grid, model_checkpoint
from unmask.plan import (
    class_set_options, classifier_options, convert_options, eps_search_options, part_extractor_options, synthetic_options,
)
from unmask.presets import Preset
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
    from dataset_tools import pascal_part, synthetic, voc

    data = preset.data
    if data.synthetic is not None:
        log.info("generating the synthetic dataset in %s (a minute or two the first time)", data.root)
        synthetic.generate(**synthetic_options(preset))
    voc_root = data.root / "VOC2010"
    needed = [voc_root / "JPEGImages", voc_root / "Annotations_Part", voc_root / "Annotations"]
    missing = [str(p) for p in needed if not p.is_dir()]
    if missing:
        raise FileNotFoundError(
            "raw data missing: " + ", ".join(missing) + ". Put VOC2010's JPEGImages/ and Annotations/ and "
            "PASCAL-Part's Annotations_Part/ under " + str(voc_root) + " (see README, 'Real data')."
        )
    print(pascal_part.format_summary(pascal_part.convert(**convert_options(preset))))
    options = class_set_options(preset)
    for name in ("imagenet", "flickr"):
        if options[name] is not None and not options[name].is_dir():
            raise FileNotFoundError(f"{options[name]} not found: the preset asks for it (data.{name})")
    print(voc.format_summary(voc.build_class_sets(**options)))
    return {"parts": str(data.parts_dir), "classsets": str(data.classsets_dir)}


def prepare_part_extractor(preset: Preset) -> str:
    """K's checkpoint: trained from the COCO parts splits when the preset says how and it is missing."""
    spec = preset.extractor
    if spec.checkpoint.is_file():
        return str(spec.checkpoint)
    if spec.train is None:
        raise FileNotFoundError(
            f"part extractor checkpoint {spec.checkpoint} not found and the preset has no part_extractor.train "
            "section: download UnMask's mask_rcnn_parts_0040.h5 to that path, or add a training schedule"
        )
    from unmask.part_model import train_part_extractor

    train_part_extractor(**part_extractor_options(preset))
    return str(spec.checkpoint)


def prepare_models(preset: Preset) -> dict[str, str]:
    """Every M (and adversarially trained M) of the preset, trained when missing."""
    from unmask.training import train_classifier

    paths = {}
    for model in preset.models:
        for cs in preset.class_sets:
            for adversarial in (False, True) if model.adversarial_training else (False,):
                path = model_checkpoint(preset, model, cs, adversarial)
                if model.checkpoints is None:
                    train_classifier(**classifier_options(preset, model, cs, adversarial))
                elif not path.is_file():
                    raise FileNotFoundError(f"model checkpoint {path} not found (models[{model.name}].checkpoints)")
                paths[f"{model.name}/{cs}{'_at' if adversarial else ''}"] = str(path)
    return paths


def eps_search(preset: Preset) -> dict[str, str]:
    """The AT line search (BigData: eps 4 chosen among 1, 2, 4, 6, 8, 16): one table per model x class set."""
    from unmask.training import eps_search as search

    out = {}
    for model in preset.models:
        for cs in preset.class_sets:
            options = eps_search_options(preset, model, cs)
            rows = search(**options)
            folder = options["out_dir"]
            write_json_atomic(folder / "eps_search.json", rows)
            best = max(rows, key=lambda r: r["score"])
            print(f"\nAT eps search, {model.name} {cs} (score = mean of benign and adversarial val accuracy):")
            for row in rows:
                marker = "  <- best" if row is best else ""
                print(f"  eps {row['train_eps']:>4g}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()
                      if isinstance(v, float) and k != "train_eps") + marker)
            out[f"{model.name}/{cs}"] = str(folder / "eps_search.json")
    return out


def run(preset: Preset, stages: tuple[str, ...] | None = None) -> Path:
    """Run the given stages (default: the preset's); returns the run folder (its run.json lists what was made)."""
    stages = stages or preset.stages
    run_dir = preset.output
    run_dir.mkdir(parents=True, exist_ok=True)
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
