"""`unmask run PRESET --plan`: every job a run would do, in order, with its settings resolved.

Pure Python (no TensorFlow, nothing written): the same functions turn a preset into the keyword
arguments the pipeline passes to the data converters, K's training and scoring, M's training and the
AT line search, so the plan shows exactly what runs. Settings a preset leaves unset show the called
function's own default (read from its signature); M's training recipe is resolved from its training
preset (``unmask.registry.TRAIN_PRESETS``), and adversarial training shows its PGD spec in 0-255 units.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from unmask import registry
from unmask.attack_specs import adversarial_spec, preset_spec
from unmask.evaluation.grid import model_checkpoint
from unmask.parts import class_set as lookup_class_set
from unmask.paper_numbers import CIFAR10
from unmask.presets import ClassifierPreset, ForegroundPreset, ModelSpec, Preset, VAEPreset, given

# ------------------------------------------------------------- the pipeline's calls, shared with the plan


def data_workers(preset: Preset) -> int:
    """Processes for generating and converting the data: the preset's, else one per CPU core."""
    return preset.data.workers or os.cpu_count() or 1


def synthetic_options(preset: Preset) -> dict[str, Any]:
    """Keyword arguments of ``dataset_tools.synthetic.generate`` (empty: no synthetic section)."""
    if preset.data.synthetic is None:
        return {}
    return {"out": preset.data.root, **given(preset.data.synthetic), "workers": data_workers(preset)}


def convert_options(preset: Preset) -> dict[str, Any]:
    """Keyword arguments of ``dataset_tools.pascal_part.convert`` (PASCAL-Part -> COCO splits for K)."""
    data = preset.data
    return {"voc_root": data.root / "VOC2010", "out": data.parts_dir, "legacy": data.legacy_parts,
            "workers": data_workers(preset)}


def class_set_options(preset: Preset) -> dict[str, Any]:
    """Keyword arguments of ``dataset_tools.voc.build_class_sets`` (the class-set folders for M)."""
    data = preset.data
    return {
        "voc_root": data.root / "VOC2010", "out": data.full_classsets_dir, "class_sets": preset.class_sets,
        "imagenet": data.root / "imagenet" if data.imagenet else None,
        "flickr": data.root / "flickr" if data.flickr else None,
        "imagenet_role": data.imagenet or "train", "split": data.split,
    }


def subsample_options(preset: Preset) -> dict[str, Any]:
    """Keyword arguments of ``dataset_tools.subsample.subsample_class_sets`` (empty: no subsample)."""
    data = preset.data
    if data.subsample is None:
        return {}
    return {"source": data.full_classsets_dir, "out": data.classsets_dir, "class_sets": preset.class_sets,
            "fraction": data.subsample, "seed": preset.seed}


def part_extractor_options(preset: Preset) -> dict[str, Any]:
    """Keyword arguments of ``unmask.part_model.train_part_extractor`` (the preset must have a K train section)."""
    spec = preset.extractor
    assert spec.train is not None, "part_extractor.train is not set"
    options = given(spec.train)
    return {"parts_dir": preset.data.parts_dir, "checkpoint": spec.checkpoint, "kind": spec.config,
            "overrides": {**spec.config_overrides, **options.pop("config")}, **options}


def k_map_options(preset: Preset) -> dict[str, Any]:
    """Keyword arguments of ``unmask.part_model.part_extractor_map`` (K's COCO AP on the parts test split)."""
    k = preset.extractor
    return {"parts_dir": preset.data.parts_dir, "checkpoint": k.checkpoint, "kind": k.config,
            "overrides": k.config_overrides, "split": "test", "batch_size": k.batch_size,
            "detection_min_confidence": k.detection_min_confidence}


def classifier_options(preset: Preset, model: ModelSpec, class_set: str, adversarial: bool) -> dict[str, Any]:
    """Keyword arguments of ``unmask.training.train_classifier`` for M (or its AT twin) on a class set."""
    root = preset.data.classsets_dir / class_set
    at = model.adversarial_training if adversarial else None
    recipe = model.adversarial_train() if at else model.train
    return {
        "train_dir": root / "train", "val_dir": root / "val", "class_names": lookup_class_set(class_set),
        "arch": model.arch, "out_path": model_checkpoint(preset, model, class_set, adversarial),
        "image_size": model.image_size, "weights": model.weights, "preprocessing": model.preprocess,
        "adversarial_eps": at.eps if at else None, "attack_preset": preset.attack_preset if at else None,
        "seed": preset.seed, **given(recipe),
    }


def classifier_experiment_options(preset: ClassifierPreset, model: ModelSpec, adversarial: bool,
                                  class_names: list[str]) -> dict[str, Any]:
    """Keyword arguments of ``unmask.training.train_classifier`` for M (or its AT twin) in a classifier-only
    experiment (CIFAR-10 class folders under ``preset.data_dir``)."""
    at = model.adversarial_training if adversarial else None
    recipe = model.adversarial_train() if at else model.train
    return {
        "train_dir": preset.data_dir / "train", "val_dir": preset.data_dir / "val", "class_names": class_names,
        "arch": model.arch, "out_path": preset.output / "models" / model.name / f"{CIFAR10}{'_at' if at else ''}.keras",
        "image_size": model.image_size, "weights": model.weights, "preprocessing": model.preprocess,
        "adversarial_eps": at.eps if at else None, "attack_preset": preset.attack_preset if at else None,
        "seed": preset.seed, **given(recipe),
    }


def eps_search_options(preset: Preset, model: ModelSpec, class_set: str) -> dict[str, Any]:
    """Keyword arguments of ``unmask.training.eps_search`` for one model and class set. Without
    ``eval_eps`` the candidates are scored over every attack cell of the preset plus the benign
    images (the BigData paper's criterion); with it, under PGD-Linf at that budget only (the code's)."""
    root = preset.data.classsets_dir / class_set
    assert preset.eps_search is not None, "the preset has no eps_search section"
    search = given(preset.eps_search)
    if preset.eps_search.eval_eps is None:
        search["eval_specs"] = [preset_spec(preset.attack_preset, a.name, a.eps) for a in preset.attacks]
    return {
        "train_dir": root / "train", "val_dir": root / "val", "class_names": lookup_class_set(class_set),
        "arch": model.arch, "out_dir": preset.output / "eps_search" / model.name / class_set,
        **search, "attack_preset": preset.attack_preset, "image_size": model.image_size,
        "weights": model.weights, "preprocessing": model.preprocess, "seed": preset.seed, **given(model.train),
    }


# ----------------------------------------------------------------------------------------------- the plan


def _with_defaults(function: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` over the keyword defaults of ``function``: the settings it will run with."""
    defaults = {name: p.default for name, p in inspect.signature(function).parameters.items()
                if p.default is not inspect.Parameter.empty}
    return {**defaults, **options}


def _plain(value: Any) -> Any:
    """JSON-able: paths as strings, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _data_jobs(preset: Preset) -> list[dict[str, Any]]:
    from dataset_tools import pascal_part, synthetic, voc

    jobs = []
    if preset.data.synthetic is not None:
        jobs.append({"kind": "synthetic_data", **_with_defaults(synthetic.generate, synthetic_options(preset))})
    jobs.append({"kind": "convert_pascal_part", **_with_defaults(pascal_part.convert, convert_options(preset))})
    split = _with_defaults(voc.build_class_sets, class_set_options(preset))
    rule = voc.SPLIT_RULES[split["split"]]
    split.update({name: getattr(rule, name) for name in ("seed", "val_fraction", "test_fraction") if split[name] is None})
    split["split_rule"] = rule.describe
    split["test_split"] = ("flickr" if split["flickr"] else "imagenet" if split["imagenet_role"] == "test" and split["imagenet"]
                           else f"VOC ({split['test_fraction']:g} of each {'class' if split['split'] == 'ours' else 'set'})")
    jobs.append({"kind": "class_set_folders", **split})
    if preset.data.subsample is not None:
        jobs.append({"kind": "class_set_subsample", **subsample_options(preset)})
    return jobs


def _k_jobs(preset: Preset) -> list[dict[str, Any]]:
    from unmask.part_model import train_part_extractor

    spec = preset.extractor
    if spec.checkpoint.is_file() or spec.train is None:
        return [{"kind": "part_extractor", "action": "load", "checkpoint": spec.checkpoint, "config": spec.config,
                 "config_overrides": spec.config_overrides}]
    options = _with_defaults(train_part_extractor, part_extractor_options(preset))
    return [{"kind": "part_extractor", "action": "train", "config": options.pop("kind"), **options}]


def _k_map_jobs(preset: Preset) -> list[dict[str, Any]]:
    from unmask.paper_numbers import K_MAP
    from unmask.part_model import part_extractor_map

    options = _with_defaults(part_extractor_map, k_map_options(preset))
    return [{"kind": "k_map", "config": options.pop("kind"), **options, "published_map": K_MAP,
             "out": preset.output / "k_map.json"}]


def _model_jobs(preset: Preset) -> list[dict[str, Any]]:
    jobs = []
    for model in preset.models:
        for class_set in preset.class_sets:
            for adversarial in (False, True) if model.adversarial_training else (False,):
                options = classifier_options(preset, model, class_set, adversarial)
                recipe = training_recipe(options)
                action = "train" if model.checkpoints is None else "load"
                job = {"kind": "model_at" if adversarial else "model", "action": action, "model": model.name,
                       "class_set": class_set, **options, "preset": recipe.name,
                       "recipe": {k: v for k, v in asdict(recipe).items() if k not in ("name", "weights")}}
                if adversarial:
                    job["adversarial_attack"] = adversarial_spec(
                        options["adversarial_eps"], recipe.adversarial_attack_preset, recipe.adversarial_steps).to_dict()
                    job["epoch_selection_attack"] = preset_spec(
                        recipe.adversarial_attack_preset, "pgd_linf", recipe.adversarial_selection_eps).resolved().to_dict()
                jobs.append(job)
    return jobs


def training_recipe(options: dict[str, Any]) -> registry.TrainRecipe:
    """The recipe ``train_classifier`` runs with these keyword arguments (its training preset with the
    preset's overrides; the base is frozen only with pretrained weights)."""
    recipe = registry.lookup(registry.TRAIN_PRESETS, options.get("preset") or registry.DEFAULT_TRAIN_PRESET,
                             "training preset")
    return recipe.resolved(epochs=options.get("epochs"), batch_size=options.get("batch_size"),
                           learning_rate=options.get("learning_rate"), image_size=options.get("image_size"),
                           flip=options.get("flip"), adversarial_attack_preset=options.get("attack_preset"),
                           optimizer=options.get("optimizer"))


def _eps_search_jobs(preset: Preset) -> list[dict[str, Any]]:
    jobs = []
    for model in preset.models:
        for class_set in preset.class_sets:
            options = eps_search_options(preset, model, class_set)
            specs = options.pop("eval_specs", None)
            criterion = ({"criterion": "mean of benign and every attack cell of the preset (the paper's)",
                          "eval_attacks": [spec.resolved().to_dict() for spec in specs]} if specs else
                         {"criterion": "mean of benign and PGD-Linf at eval_eps (the original code's)"})
            jobs.append({"kind": "eps_search", "model": model.name, "class_set": class_set, **options, **criterion,
                         "unset_from": "unmask.training.eps_search"})
    return jobs


def _evaluation_jobs(preset: Preset) -> list[dict[str, Any]]:
    ev, k = preset.evaluation, preset.extractor
    jobs: list[dict[str, Any]] = [{
        "kind": "evaluation", "batch_size": ev.batch_size, "seed": preset.seed,
        "test_images": f"{preset.data.classsets_dir}/<class set>/test", "max_test_images": ev.max_test_images,
        "heldout_images": f"{preset.data.classsets_dir}/<class set>/val", "max_heldout_images": ev.max_heldout_images,
        "fpr_targets": ev.fpr_targets, "threshold_fpr": ev.threshold_fpr,
        "part_extractor": {"checkpoint": k.checkpoint, "config": k.config, "config_overrides": k.config_overrides,
                           "batch_size": k.batch_size, "detection_min_confidence": k.detection_min_confidence,
                           "quantize": k.quantize},
    }]
    for name in preset.defenses:
        info = registry.DEFENSES[name]
        jobs.append({"kind": "defense", "name": name, "display": info.display, "scores": info.description})
    for model in preset.models:
        for class_set in preset.class_sets:
            checkpoints = {"checkpoint": model_checkpoint(preset, model, class_set),
                           "checkpoint_at": model_checkpoint(preset, model, class_set, True) if model.adversarial_training else None}
            jobs.append({"kind": "benign_cell", "model": model.name, "class_set": class_set, **checkpoints,
                         "defenses": preset.defenses})
            for entry in preset.attacks:
                spec = preset_spec(preset.attack_preset, entry.name, entry.eps).resolved().to_dict()
                jobs.append({"kind": "attack_cell", "model": model.name, "class_set": class_set, **checkpoints,
                             "attack_preset": preset.attack_preset, "attack": spec, "defenses": preset.defenses})
    return jobs


TABLE_IMAGES = {
    "kdd2019_table6": "No Attk: every test image; each attack: the images it perturbed successfully on M (KDD'19 "
                      "Table 4 caption)",
    "kdd2019_table4": "the counts of those images",
    "bigdata2020_table3": "every test image, each attacked (contamination 1)",
    "detection": "the successfully attacked test images plus their benign versions (contamination 0.5); "
                 "thresholds from the held-out benign images",
    "unmask_modes": "every test image, each attacked",
    "thesis2021_table7": "every test image, each attacked; means over the attacks and over the class sets",
}
"""Which images each report table scores (the report states the same in each table's title)."""


def _report_jobs(preset: Preset) -> list[dict[str, Any]]:
    return [{"kind": "report", "paper": preset.paper, "results": preset.output / "results.json",
             "out": preset.output / "report", "images_scored": TABLE_IMAGES}]


def _classifier_jobs(preset: ClassifierPreset) -> list[dict[str, Any]]:
    """The jobs of a classifier-only experiment: export CIFAR-10, train every M (and AT twin), score them."""
    jobs: list[dict[str, Any]] = [{"stage": "data", "kind": "cifar10_folders", "cifar10": preset.cifar10,
                                   "out": preset.data_dir}]
    variants = [(model, adversarial, classifier_experiment_options(preset, model, adversarial, ["<CIFAR-10's ten>"]))
                for model in preset.models for adversarial in ((False, True) if model.adversarial_training else (False,))]
    jobs += [{"stage": "m", "kind": "model_at" if adversarial else "model", "model": model.name, **options,
              "recipe": asdict(training_recipe(options))} for model, adversarial, options in variants]
    jobs += [{"stage": "evaluate", "kind": "top1", "model": options["out_path"], "attack_preset": preset.attack_preset,
              "attacks": [entry.label() for entry in preset.attacks], **asdict(preset.evaluation)}
             for _, _, options in variants]
    return [{k: _plain(v) for k, v in job.items()} for job in jobs]


_STAGE_JOBS: dict[str, Callable[[Preset], list[dict[str, Any]]]] = {
    "data": _data_jobs, "k": _k_jobs, "k_map": _k_map_jobs, "m": _model_jobs, "eps_search": _eps_search_jobs,
    "evaluate": _evaluation_jobs, "report": _report_jobs,
}


def describe_jobs(preset: Preset | ClassifierPreset, stages: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Every job of a run of ``stages`` (default: the preset's), in order, as plain JSON-able dicts:
    ``kind``, ``stage`` and the job's resolved settings. Does no work and writes nothing."""
    if isinstance(preset, ClassifierPreset):
        return _classifier_jobs(preset)
    if isinstance(preset, ForegroundPreset):
        from unmask.evaluation.foreground import describe_foreground_jobs

        return [_plain(job) for job in describe_foreground_jobs(preset)]
    if isinstance(preset, VAEPreset):
        return [{"stage": "vae", "kind": "vae experiment (train, black-box, white-box, report)",
                 "dataset": preset.data.dataset, "training": _plain(dataclasses.asdict(preset.training)),
                 "evaluation": _plain(dataclasses.asdict(preset.evaluation))}]
    jobs = []
    for stage in stages or preset.stages:
        jobs += [{"stage": stage, **job} for job in _STAGE_JOBS[stage](preset)]
    return [_plain(job) for job in jobs]


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def format_jobs(jobs: list[dict[str, Any]]) -> str:
    """The jobs as text: one numbered block per job, its settings indented below it."""
    lines = [f"{len(jobs)} jobs"]
    for number, job in enumerate(jobs, 1):
        settings = {k: v for k, v in job.items() if k not in ("kind", "stage")}
        lines.append(f"{number:>3}. [{job['stage']}] {job['kind']}")
        lines += [f"       {name}: {_short(value)}" for name, value in settings.items()]
    return "\n".join(lines)
