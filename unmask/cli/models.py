"""`unmask train-m` and `unmask attack`: train model M and write adversarial examples for the evaluator.

TensorFlow-backed modules are imported inside the handlers, so the rest of the CLI starts instantly;
the help lists names from the registry, and bad names are reported by the modules that own the lists.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from unmask.attack_specs import PRESETS
from unmask.parts import class_set
from unmask.registry import ARCHS, ATTACKS, DEFAULT_TRAIN_PRESET, TRAIN_PRESETS, lookup



def _eps_list(text: str) -> list[float]:
    """argparse type of --eps-search: positive comma-separated numbers."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"eps values must be positive, got {text!r}")
    return values


def _class_names(data: Path, name: str | None) -> tuple[str, ...]:
    """Class names in M's output order: the named class set, else the one the data folder is named after."""
    return class_set(name or data.name)


def train_m(args: argparse.Namespace) -> int:
    """Handler of `unmask train-m`."""
    from unmask.fileio import write_text_atomic
    from unmask.training import eps_search, format_eps_table, train_classifier

    recipe = lookup(TRAIN_PRESETS, args.preset, "training preset")
    data = Path(args.data)
    classes = _class_names(data, args.class_set)
    train_dir = data / "train"
    val_dir = data / "val" if (data / "val").is_dir() else None
    default_weights = None if lookup(ARCHS, args.arch, "architecture").weights_file is None else recipe.weights
    weights = args.weights if args.weights is not None else default_weights
    common = dict(preset=args.preset, epochs=args.epochs, image_size=args.image_size, weights=weights,
                  seed=args.seed, batch_size=args.batch_size)
    if args.eps_search:
        out_dir = Path(args.out) if args.out else Path("models") / f"{data.name}_{args.arch}_eps_search"
        rows = eps_search(train_dir, val_dir, classes, args.arch, out_dir, args.eps_search,
                          eval_eps=args.eval_eps, attack_preset=args.attack_preset, **common)
        table = format_eps_table(rows)
        write_text_atomic(out_dir / "eps_search.md", table + "\n")
        print(table)
        return 0
    eps = args.adv_eps if args.adversarial else None
    suffix = f"_at{eps:g}" if eps is not None else ""
    out = Path(args.out) if args.out else Path("models") / f"{data.name}_{args.arch}{suffix}.keras"
    result = train_classifier(train_dir, val_dir, classes, args.arch, out, adversarial_eps=eps,
                              attack_preset=args.attack_preset, **common)
    state = "reused existing" if result.reused else "trained"
    adv = "" if result.val_adv_accuracy is None else f", val adversarial accuracy {result.val_adv_accuracy:.4f}"
    print(f"{state} {result.model_path}: best epoch {result.best_epoch}, val accuracy {result.val_accuracy:.4f}{adv}; log {result.log_path}")
    return 0


def attack_command(args: argparse.Namespace) -> int:
    """Handler of `unmask attack`."""
    import numpy as np

    from unmask.attack_specs import AttackSpec, parse_spec, preset_spec
    from unmask.fileio import write_npz_atomic
    from unmask.images import iter_batches, list_image_folder

    name, eps = parse_spec(args.spec)  # a bad spec fails here, before TensorFlow loads
    spec = preset_spec(args.preset, name, eps) if args.preset else AttackSpec(name, eps)
    from unmask.attacks import attack
    from unmask.classifiers import load_classifier

    model, info = load_classifier(args.model)
    items = list_image_folder(args.data, info.class_names)[: args.limit]
    batches = list(iter_batches(items, info.image_size, 256))
    if not batches:
        raise ValueError(f"no readable images under {args.data}")
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    paths = [p for b in batches for p in b[2]]
    result = attack(model, images, labels, spec, batch_size=args.batch_size, seed=args.seed)
    meta = {"spec": result.spec.to_dict(), "preset": args.preset, "seed": args.seed, "model": str(args.model),
            "class_names": list(info.class_names), "data": str(args.data)}
    write_npz_atomic(Path(args.out), {
        "images_adv": result.images_adv, "labels": labels, "predictions_clean": result.predictions_clean,
        "predictions_adv": result.predictions_adv, "success": result.success, "paths": np.asarray(paths),
        "meta": np.asarray(json.dumps(meta))})
    clean = np.mean(result.predictions_clean == labels)
    print(f"{spec.label()} on {len(labels)} images: clean accuracy {clean:.4f}, "
          f"adversarial accuracy {np.mean(result.predictions_adv == labels):.4f}, "
          f"success rate {np.mean(result.success):.4f}; wrote {args.out}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `unmask train-m` and `unmask attack`."""
    train = subparsers.add_parser("train-m", help="train classifier M on <data>/{train,val}/<class>/ folders")
    train.add_argument("--data", required=True, help="class-set folder with train/ (and optionally val/) inside")
    train.add_argument("--arch", required=True, help=f"architecture: {', '.join(ARCHS)}")
    train.add_argument("--class-set", help="class set name (default: the data folder's name), e.g. CS3a")
    train.add_argument("--preset", default=DEFAULT_TRAIN_PRESET,
                       help=f"the paper whose training recipe to follow: {', '.join(TRAIN_PRESETS)} "
                            f"(default {DEFAULT_TRAIN_PRESET})")
    train.add_argument("--weights", help="imagenet, none or a notop weights file (default: the preset's; none for small_cnn)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--image-size", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--seed", type=int, default=5)
    train.add_argument("--adversarial", action="store_true", help="PGD-Linf adversarial training")
    train.add_argument("--adv-eps", type=float, default=4.0, help="adversarial training eps, 0-255 units (default 4)")
    train.add_argument("--attack-preset", choices=sorted(PRESETS),
                       help="whose PGD step size adversarial training uses (default: the training recipe's)")
    train.add_argument("--eps-search", type=_eps_list, help="AT line search over these eps, e.g. 1,2,4,6,8,16")
    train.add_argument("--eval-eps", type=float, default=8.0, help="test eps the line search scores against")
    train.add_argument("--out", help="model path (.keras), or the folder for --eps-search")
    train.set_defaults(func=train_m)

    att = subparsers.add_parser("attack", help="attack M on an image folder and save the adversarial images (.npz)")
    att.add_argument("--model", required=True, help="a .keras model saved by train-m")
    att.add_argument("--data", required=True, help="<data>/<class>/*.jpg folder, classes as the model's")
    att.add_argument("--spec", required=True, help=f"NAME:EPS (0-255 units); names: {', '.join(ATTACKS)}")
    att.add_argument("--preset", choices=sorted(PRESETS), help="take steps and step size from a paper preset")
    att.add_argument("--out", required=True, help="output .npz")
    att.add_argument("--batch-size", type=int, default=32)
    att.add_argument("--seed", type=int, default=0)
    att.add_argument("--limit", type=int, help="attack only the first N images")
    att.set_defaults(func=attack_command)
