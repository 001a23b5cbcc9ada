"""The report of a foreground-attention run (``experiment: foreground``): Vaishnavi et al.'s Table 4 layout.

One table per model: rows X/N, X_FG/N, X/A, X_FG/A; columns natural and PGD accuracy (%) with the
dataset's masks (the paper's oracle; X rows see whole images), then the ``part_model`` columns (K's
masks: natural, the non-adaptive PGD and the adaptive BPDA), with how well K's masks match the oracle.
With ``compare_paper`` each oracle cell carries the published VGG-19 number when the run's dataset is
one of the paper's (MS-COCO-IC, GTSRB-IC), and the published table is listed whole; on other data (the
miniature) it is shown for reference only. Markdown, CSV and LaTeX files under report/tables/.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from unmask.fileio import read_json, write_text_atomic
from unmask.paper_numbers import COCO_IC, FOREGROUND_DATASETS, FOREGROUND_ROWS, GTSRB_IC, VAISHNAVI2020, published
from unmask.report import _swap_in, _umask
from unmask.report.tables import Column, Table, to_markdown, write_table
from unmask.results import NO_ATTACK, RESULTS_FILE

PAPER_DATASETS = {"coco_ic": COCO_IC, "gtsrb_ic": GTSRB_IC}
"""Our dataset builder -> the paper's dataset name."""
BPDA = " (BPDA)"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _paper_value(dataset: str, data: str, training: str, attack: str) -> float | None:
    name, _, eps = attack.partition(":")
    metric = "acc_none" if training == "N" else "acc_at"
    return published(VAISHNAVI2020, data, dataset, name, float(eps) if eps else None, metric)


def table4(results: dict, model: str, compare: str | None) -> Table:
    """Table 4 of one model; ``compare``: the paper's dataset whose numbers go beside ours (None: none)."""
    attacks = results["attacks"]
    rows = {(r["data"], r["training"], r["mask_source"]): r for r in results["rows"] if r["model"] == model}
    columns = [Column("data", align="l"), Column("training", align="l"),
               Column("natural", "oracle masks"), *(Column(a, "oracle masks") for a in attacks)]
    k_columns = "part_model" in results["mask_sources"]
    if k_columns:
        columns += [Column("natural", "K's masks"), *(Column(a, "K's masks") for a in attacks),
                    *(Column(a + BPDA, "K's masks") for a in attacks if any(a + BPDA in r["accuracy"] for r in rows.values())),
                    Column("mask IoU", "K's masks")]
    table = Table(f"{model}: accuracy (%), Vaishnavi et al. Table 4 layout", columns)
    for data, training in FOREGROUND_ROWS:
        oracle = rows.get((data, training, "none" if data == "X" else "oracle"))
        if oracle is None and not any(key[:2] == (data, training) for key in rows):
            continue
        cells = [data, training]
        for attack in (NO_ATTACK, *attacks):
            ours = _percent(oracle["accuracy"].get(attack)) if oracle else "-"
            theirs = _paper_value(compare, data, training, attack) if compare else None
            cells.append(ours if theirs is None else f"{ours} (paper {_percent(theirs)})")
        if k_columns:
            k = rows.get((data, training, "part_model"))
            keys = [NO_ATTACK, *attacks, *(c.name for c in columns if c.name.endswith(BPDA))]
            cells += [_percent(k["accuracy"].get(key)) if k else "-" for key in keys]
            cells.append(f"{k['mask_iou_vs_oracle']:.3f}" if k else "-")
        table.add(cells)
    table.notes += [
        "X: trained and scored on whole images (whole-image PGD). X_FG: trained on mask * image; scored on mask * image "
        "with the adversary confined to the mask's pixels.",
        "Oracle masks: the dataset's (the paper's setting: an upper bound, the masks are given and cannot be attacked).",
    ]
    if k_columns:
        table.notes.append(
            "K's masks (ours, beyond the paper): the union of the part masks K finds on the image as given, recomputed on "
            "the adversarial image. Non-adaptive PGD: the mask K finds on the clean image held fixed during the attack. "
            "BPDA: K's mask recomputed at every step and held constant in the backward pass, the perturbation free over "
            "the whole image. Mask IoU: K's clean-image masks against the dataset's.")
    return table


def published_table() -> Table:
    """The paper's Table 4 as published (VGG-19)."""
    columns = [Column("data", align="l"), Column("training", align="l")]
    columns += [Column(what, dataset) for dataset in FOREGROUND_DATASETS for what in ("natural", "PGD")]
    table = Table("Vaishnavi et al. Table 4 as published (VGG-19, PGD-Linf 8/255, 10 steps of 2/255)", columns)
    for data, training in FOREGROUND_ROWS:
        table.add([data, training, *(_percent(_paper_value(dataset, data, training, attack))
                                     for dataset in FOREGROUND_DATASETS for attack in (NO_ATTACK, "pgd_linf:8"))])
    return table


def write_foreground_report(run_dir: str | Path, out_dir: str | Path | None = None,
                            compare_paper: bool = False) -> list[Path]:
    """report.md and the tables of a foreground run (the published table beside them with ``compare_paper``)."""
    run_dir = Path(run_dir)
    results = read_json(run_dir / RESULTS_FILE)
    if not isinstance(results, dict) or results.get("experiment") != "foreground":
        raise ValueError(f"{run_dir / RESULTS_FILE} is not the results of a foreground run")
    target = Path(out_dir) if out_dir is not None else run_dir / "report"
    target.parent.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f".{target.name}.new.", dir=target.parent))
    out.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would make the report private
    try:
        written = _write(out, results, compare_paper)
        _swap_in(out, target)  # whole, as every report: no table of an earlier report stays beside this one
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return [target / path.relative_to(out) for path in written]


def _write(out: Path, results: dict, compare_paper: bool) -> list[Path]:
    """The tables and report.md of a foreground run into ``out``; returns the written files."""
    builder = results["dataset"]["builder"]["name"]
    compare = PAPER_DATASETS.get(builder) if compare_paper else None
    written: list[Path] = []
    lines = [f"# {results['preset']}: foreground attention masks", "",
             f"Dataset: {builder} ({results['n_train']} training, {results['n_test']} test images, "
             f"{results['dataset']['size']} px, classes {', '.join(results['dataset']['classes'])}); builder parameters: "
             f"`{results['dataset']['builder']}`. Mask sources: {', '.join(results['mask_sources'])}.", ""]
    for model in dict.fromkeys(r["model"] for r in results["rows"]):
        table = table4(results, model, compare)
        written += write_table(table, out / "tables", f"table4_{model}")
        lines += [to_markdown(table, 2), ""]
    if compare_paper:
        table = published_table()
        written += write_table(table, out / "tables", "table4_published")
        note = (f"Our oracle cells carry the {compare} numbers beside them." if compare else
                f"The run's data ({builder}) is not one of the paper's: the published numbers are for reference only, "
                "not comparable cell by cell.")
        lines += [to_markdown(table, 2), "", note, ""]
    written.append(write_text_atomic(out / "report.md", "\n".join(lines)))
    return written
