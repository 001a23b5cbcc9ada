"""`unmask run`, `unmask evaluate`, `unmask train-k` and `unmask score-k`: the commands that drive whole experiments.

`unmask run PRESET --plan` lists every job the run would do without doing any (`--json` for a
machine-readable list), so a long run can be checked before it starts.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _summary(run_dir: Path) -> None:
    """Print a finished run's stage times, evaluation counts and report files from its run.json."""
    manifest = json.loads((run_dir / "run.json").read_text())
    print(f"\nrun folder: {run_dir}")
    for stage, seconds in manifest["timings_s"].items():
        print(f"  {stage:<9} {seconds:8.1f} s")
    evaluation = manifest.get("evaluation")
    if evaluation:
        print(
            f"  cells: {evaluation['cells']} ({evaluation['cells_computed']} computed, {evaluation['cells_reused']} reused); "
            f"K saw {evaluation['k_images']} images"
        )
    for path in manifest["artifacts"].get("report", []):
        print(f"  report: {path}")


def _run(args: argparse.Namespace) -> int:
    """Handler of `unmask run`: the preset's stages (or --stages), or with --plan only their job list."""
    from unmask.presets import STAGES, load_preset

    if args.json and not args.plan:
        raise ValueError("--json goes with --plan")
    preset = load_preset(args.preset)
    stages = tuple(s.strip() for s in args.stages.split(",")) if args.stages else None
    unknown = [s for s in stages or () if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; valid: {', '.join(STAGES)}")
    if args.plan:
        from unmask.plan import describe_jobs, format_jobs

        jobs = describe_jobs(preset, stages)
        print(json.dumps(jobs, indent=1) if args.json else format_jobs(jobs))
        return 0
    from unmask.pipeline import run

    _summary(run(preset, stages))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Handler of `unmask evaluate`: `run` with the evaluate and report stages."""
    args.stages, args.plan, args.json = "evaluate,report", False, False
    return _run(args)


def _yaml_value(item: str) -> tuple[str, object]:
    """KEY and the YAML value of one `--set KEY=VALUE`."""
    import yaml

    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise ValueError(f"--set {item!r}: the value is not valid YAML ({' '.join(str(err).split())})") from err


def _train_k(args: argparse.Namespace) -> int:
    """Handler of `unmask train-k`."""
    from unmask.part_model import PAPER_SCHEDULE, train_part_extractor

    schedule = PAPER_SCHEDULE
    if args.schedule:
        schedule = []
        for item in args.schedule.split(","):
            layers, epochs, *factor = item.split(":")
            schedule.append({"layers": layers, "epochs": int(epochs), "lr_factor": float(factor[0]) if factor else 1.0})
    overrides = dict(_yaml_value(item) for item in args.set or [])
    path = train_part_extractor(
        Path(args.coco),
        Path(args.out),
        kind=args.config,
        overrides=overrides,
        schedule=schedule,
        init_weights=Path(args.init_weights) if args.init_weights else None,
    )
    print(f"K checkpoint: {path}")
    return 0


def _score_k(args: argparse.Namespace) -> int:
    """Handler of `unmask score-k`: K's COCO AP on a parts split beside the papers' mAP 0.56."""
    from unmask.fileio import write_json_atomic
    from unmask.part_model import format_part_extractor_map, part_extractor_map

    result = part_extractor_map(Path(args.coco), Path(args.checkpoint), kind=args.config,
                                overrides=dict(_yaml_value(item) for item in args.set or []), split=args.split,
                                limit=args.limit, batch_size=args.batch_size)
    print(format_part_extractor_map(result))
    if args.out:
        write_json_atomic(Path(args.out), {"checkpoint": args.checkpoint, **result})
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `unmask run`, `unmask evaluate`, `unmask train-k` and `unmask score-k`."""
    from unmask.presets import STAGES

    p = subparsers.add_parser("run", help="run a preset end to end: data, K, M, attacks, evaluation, report")
    p.add_argument("preset", help="preset YAML, e.g. experiments/demo.yaml")
    p.add_argument("--stages", help=f"comma-separated subset of {','.join(STAGES)} (default: the preset's stages)")
    p.add_argument("--plan", action="store_true", help="print every job the run would do, and do none of them")
    p.add_argument("--json", action="store_true", help="with --plan: print the jobs as JSON")
    p.set_defaults(func=_run)

    p = subparsers.add_parser("evaluate", help="evaluate a preset whose data, K and M exist, then write the report")
    p.add_argument("--preset", required=True, help="preset YAML")
    p.set_defaults(func=_evaluate)

    p = subparsers.add_parser("train-k", help="train the part extractor K on a PASCAL-Part COCO conversion")
    p.add_argument("--coco", required=True, help="folder with train.json/val.json and train/ val/ images")
    p.add_argument("--out", required=True, help="checkpoint to write, e.g. mask_rcnn_parts.h5")
    p.add_argument("--config", choices=("small", "matterport"), default="matterport")
    p.add_argument("--schedule", help="stages LAYERS:EPOCHS[:LR_FACTOR], comma-separated; epochs are cumulative "
                   "(default heads:10,4+:25,all:40:0.1)")
    p.add_argument("--init-weights", help="start from this h5 (e.g. mask_rcnn_coco.h5), heads excluded")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a Config attribute, e.g. --set LEARNING_RATE=0.01 --set TRAIN_BN=true")
    p.set_defaults(func=_train_k)

    p = subparsers.add_parser("score-k", help="K's COCO mAP on a PASCAL-Part split, beside the papers' 0.56")
    p.add_argument("--coco", required=True, help="folder with <split>.json and <split>/ images (`unmask data pascal-part`)")
    p.add_argument("--checkpoint", required=True, help="K's weights (.h5)")
    p.add_argument("--config", choices=("small", "matterport"), default="matterport")
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--limit", type=int, default=0, help="score only the first N annotated images (default: all)")
    p.add_argument("--batch-size", type=int, default=1, help="images per detect call")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a Config attribute")
    p.add_argument("--out", help="also write the figures to this JSON file")
    p.set_defaults(func=_score_k)
