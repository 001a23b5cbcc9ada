"""`unmask report RUN_DIR`: the papers' tables and figures from a run's results.

Reads the cells of a run (`results.load_results`) and writes into `RUN_DIR/report/`:
  tables/kdd2019_table6.*     accuracy (%) in the KDD'19 Table 6 layout (No Def / UnMask per attack)
  tables/bigdata2020_table3.* accuracy (fraction) in the BigData'20 Table 3 layout (None / AT / UM)
  tables/detection.*          AUC, TPR at FPR 5% / 10%, images behind each figure (papers' image counts)
  tables/unmask_modes.*       UnMask accuracy, always-rectify beside threshold mode (Algorithm 1)
  tables/overlap.*            feature overlap beside mean AUC and UnMask accuracy per class set
  tables/paper_comparison.*   with --compare-paper: every comparable number, ours / paper / difference
  figures/roc_<model>__<set>.*  ROC curves, one per attack, AUC in the legend
  figures/mean_accuracy.*     mean accuracy per class set for None / AT / UM over all attacks
  report.md                   the index: everything above, embedded or linked
Tables are Markdown, CSV and LaTeX; figures PNG and PDF. Columns follow the attacks and eps the run
contains, in the papers' order. The "UnMask"/"UM" columns use the always-rectify mode, which is how
the papers' numbers were scored; the threshold mode sits beside it in unmask_modes.
"""
from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from unmask.paper_numbers import BIGDATA2020, KDD2019, OPERATING_POINT, PAPERS, UM_METRIC, published
from unmask.parts import CLASS_SETS, overlap_stats
from unmask.report_figures import accuracy_bars, roc_figure
from unmask.report_tables import Column, Table, to_markdown, write_table
from unmask.results import (
    MODEL_NAMES,
    NO_ATTACK,
    CellResult,
    ResultsError,
    attack_label,
    attack_sort_key,
    load_results,
    load_run_info,
    model_label,
    safe_name,
)

log = logging.getLogger(__name__)

NOT_RUN = "n/a"
"""Cell text for a model x set x attack the run does not contain."""
NO_AT = "-"
"""Cell text for an adversarial-training accuracy the run does not have."""
NO_PUBLISHED = "n/a"

PAPER_TITLES = {KDD2019: "KDD'19", BIGDATA2020: "BigData'20"}
PAPER_CLASS_SETS = ("CS3a", "CS3b", "CS5a", "CS5b")

CellKey = tuple[str, str, str, float | None]
CellIndex = dict[CellKey, CellResult]
AttackKey = tuple[str, float | None]


@dataclass(frozen=True)
class Fmt:
    """How a number is shown: `scale` x value with `digits` decimals in a table (differences signed),
    the unscaled value with `raw_digits` decimals in paper_comparison."""

    scale: float
    digits: int
    raw_digits: int

    def show(self, x: float) -> str:
        return f"{self.scale * x:.{self.digits}f}"

    def diff(self, d: float) -> str:
        return f"{self.scale * d:+.{self.digits}f}"

    def raw(self, x: float) -> str:
        return f"{x:.{self.raw_digits}f}"

    def raw_diff(self, d: float) -> str:
        return f"{d:+.{self.raw_digits}f}"


PERCENT = Fmt(100.0, 2, 4)
FRACTION = Fmt(1.0, 2, 4)
RATE = Fmt(1.0, 3, 4)
COUNT = Fmt(1.0, 0, 0)


@dataclass(frozen=True)
class Slot:
    """One number of a table row: where it sits (model, class set, attack, eps), the cell it comes
    from (None: not in the run), the value (None: absent from the cell), how to show it and the
    published metric it compares with (None: none)."""

    at: CellKey
    cell: CellResult | None
    value: float | None
    fmt: Fmt
    metric: str | None = None


def slot(idx: CellIndex, at: CellKey, attr: str, fmt: Fmt, metric: str | None = None) -> Slot:
    """The slot of attribute `attr` of the cell at `at` (absent cells give an empty slot)."""
    cell = idx.get(at)
    return Slot(at, cell, None if cell is None else getattr(cell, attr), fmt, metric)


@dataclass(frozen=True)
class Comparison:
    """One of our numbers beside its published counterpart (paper None: the papers have none)."""

    table: str
    cell: CellResult
    column: str
    ours: float
    published: float | None
    paper: str | None
    fmt: Fmt

    @property
    def difference(self) -> float | None:
        """Ours - paper, in the unit of the value (fractions for accuracies)."""
        return None if self.published is None else self.ours - self.published


class Comparer:
    """Looks our cells up in the published numbers, in the order of `papers`, and records every try."""

    def __init__(self, papers: Sequence[str]):
        self.papers = tuple(papers)
        self.records: list[Comparison] = []

    def lookup(self, slot: Slot) -> tuple[float, str] | None:
        """(published value, paper) for a slot, or None when no paper has it."""
        if slot.metric is None:
            return None
        for paper in self.papers:
            value = published(paper, *slot.at, slot.metric)
            if value is not None:
                return value, paper
        return None

    def compare(self, table: str, column: str, slot: Slot) -> Comparison | None:
        """Record and return the comparison of a slot; None when it holds no number of ours."""
        if slot.cell is None or slot.value is None or slot.metric is None:
            return None
        value, paper = self.lookup(slot) or (None, None)
        record = Comparison(table, slot.cell, column, slot.value, value, paper, slot.fmt)
        self.records.append(record)
        return record


def _ordered(names: Iterable[str], known: Sequence[str]) -> list[str]:
    """Names in the papers' order (`known` first, in that order), the others alphabetically."""
    names = set(names)
    return [n for n in dict.fromkeys(known) if n in names] + sorted(names - set(known))


def _set_order() -> list[str]:
    return [*PAPER_CLASS_SETS, *CLASS_SETS]


def row_keys(cells: Iterable[CellResult]) -> list[tuple[str, str]]:
    """The (model, class set) rows of a run in the papers' order."""
    cells = list(cells)
    models = _ordered((c.model for c in cells), list(MODEL_NAMES))
    sets = _ordered((c.class_set for c in cells), _set_order())
    present = {(c.model, c.class_set) for c in cells}
    return [(m, s) for m in models for s in sets if (m, s) in present]


def attack_keys(cells: Iterable[CellResult]) -> list[AttackKey]:
    """The attacked (attack, eps) columns of a run in the papers' order (no-attack cells excluded)."""
    keys = {(c.attack, c.eps) for c in cells if c.attack != NO_ATTACK}
    return sorted(keys, key=lambda k: attack_sort_key(*k))


def index_cells(cells: Iterable[CellResult]) -> CellIndex:
    return {(c.model, c.class_set, c.attack, c.eps): c for c in cells}


def _overlap_text(class_set: str) -> str:
    classes = CLASS_SETS.get(class_set)
    return NOT_RUN if classes is None else f"{overlap_stats(classes).overlap_percent:.2f}%"


class TableBuilder:
    """Fills a Table row by row: our row; with a Comparer, also a published row and a difference row
    under every row that has at least one published counterpart."""

    def __init__(self, name: str, title: str, index: list[Column], values: list[Column],
                 comparer: Comparer | None, notes: list[str]):
        self.name = name
        self.comparer = comparer
        self.values = values
        index = index + ([Column("Row", align="l")] if comparer else [])
        compare_note = [f"paper rows: the published number ({NO_PUBLISHED} where the papers have none); "
                        "ours - paper rows: the difference, in the unit of the table."]
        self.table = Table(title, index + values, notes=notes + (compare_note if comparer else []))

    def add(self, labels: list[str], slots: list[Slot]) -> None:
        """Add the row(s) of one row key: `labels` fill the index columns, `slots` the value columns."""
        ours = [NOT_RUN if s.cell is None else NO_AT if s.value is None else s.fmt.show(s.value) for s in slots]
        if self.comparer is None:
            self.table.add(labels + ours)
            return
        self.table.add(labels + ["ours"] + ours)
        records = [self.comparer.compare(self.name, col.flat, s) for col, s in zip(self.values, slots)]
        found = [self.comparer.lookup(s) for s in slots]
        if not any(found):
            return
        label = f"paper ({', '.join(sorted({f[1] for f in found if f}))})"
        paper_row = [NO_PUBLISHED if f is None else s.fmt.show(f[0]) for s, f in zip(slots, found)]
        diff_row = ["" if r is None or r.difference is None else s.fmt.diff(r.difference)
                    for s, r in zip(slots, records)]
        self.table.add(labels + [label] + paper_row)
        self.table.add(labels + ["ours - paper"] + diff_row)


_NOTES = [f"{NOT_RUN}: not in this run.", f"{NO_AT}: no adversarially trained model in this run."]


def kdd_table(cells: list[CellResult], comparer: Comparer | None = None) -> Table:
    """KDD'19 Table 6 layout: rows model x set; No Attk, then No Def / UnMask per attack, in percent."""
    idx = index_cells(cells)
    attacks = attack_keys(cells)
    values = [Column("No Attk")]
    for attack, eps in attacks:
        values += [Column("No Def", attack_label(attack, eps)), Column("UnMask", attack_label(attack, eps))]
    builder = TableBuilder(
        "kdd2019_table6",
        "Accuracy (%) in the KDD'19 Table 6 layout: M without defense (No Def) and with UnMask (always rectify)",
        [Column("Model", align="l"), Column("Set", align="l"), Column("Overlap")], values, comparer,
        [f"{NOT_RUN}: not in this run (Overlap: not a paper class set)."])
    for model, cs in row_keys(cells):
        slots = [slot(idx, (model, cs, NO_ATTACK, None), "acc_none", PERCENT, "acc_none")]
        for attack, eps in attacks:
            at = (model, cs, attack, eps)
            slots += [slot(idx, at, "acc_none", PERCENT, "acc_none"),
                      slot(idx, at, "acc_um_always", PERCENT, UM_METRIC)]
        builder.add([model_label(model), cs, _overlap_text(cs)], slots)
    return builder.table


def bigdata_table(cells: list[CellResult], comparer: Comparer | None = None) -> Table:
    """BigData'20 Table 3 layout: rows model x set; None / AT / UM per attack (no attack first), fractions."""
    idx = index_cells(cells)
    columns = [(NO_ATTACK, None)] + attack_keys(cells)
    values = [Column(name, attack_label(a, e)) for a, e in columns for name in ("None", "AT", "UM")]
    builder = TableBuilder(
        "bigdata2020_table3",
        "Accuracy in the BigData'20 Table 3 layout: no defense (None), adversarial training (AT), "
        "UnMask (UM, always rectify)",
        [Column("Model", align="l"), Column("Set", align="l")], values, comparer, _NOTES)
    for model, cs in row_keys(cells):
        slots = []
        for attack, eps in columns:
            at = (model, cs, attack, eps)
            slots += [slot(idx, at, "acc_none", FRACTION, "acc_none"), slot(idx, at, "acc_at", FRACTION, "acc_at"),
                      slot(idx, at, "acc_um_always", FRACTION, UM_METRIC)]
        builder.add([model_label(model), cs], slots)
    return builder.table


def _rate_keys(cells: Iterable[CellResult]) -> list[str]:
    keys = {k for c in cells if c.detection for k in c.detection.tpr_at_fpr}
    return sorted(keys, key=float)


def detection_table(cells: list[CellResult], comparer: Comparer | None = None) -> Table:
    """Detection per model x set x attack: AUC; TPR, FPR reached and threshold at each target FPR;
    the images behind the figures (adversarial + benign: the papers' image-count table)."""
    detected = [c for c in cells if c.detection is not None]
    rates = _rate_keys(detected)
    values = [Column("AUC")]
    for key in rates:
        values += [Column(name, f"FPR {100 * float(key):g}%") for name in ("TPR", "FPR", "t")]
    values += [Column(name, "Images") for name in ("Adversarial", "Benign", "Total")]
    builder = TableBuilder(
        "detection",
        "Detection (contamination 0.5): ROC AUC; at each target FPR the TPR and FPR reached on the test images "
        "with the threshold t chosen on held-out benign images; images behind each figure",
        [Column("Model", align="l"), Column("Set", align="l"), Column("Attack", align="l")], values, comparer,
        [f"{NO_AT}: not measured for this cell (AUC: only one class among the images)."])
    idx = index_cells(detected)
    for model, cs in row_keys(detected):
        for attack, eps in attack_keys(detected):
            at = (model, cs, attack, eps)
            cell = idx.get(at)
            if cell is None:
                continue
            det = cell.detection
            slots = [Slot(at, cell, det.auc, RATE, "auc")]
            for key in rates:
                point = key == OPERATING_POINT
                slots += [Slot(at, cell, det.tpr_at_fpr.get(key), RATE, f"tpr_at_fpr_{key}" if point else None),
                          Slot(at, cell, det.fpr_at_fpr.get(key), RATE, f"fpr_at_fpr_{key}" if point else None),
                          Slot(at, cell, det.threshold_at_fpr.get(key), RATE)]
            slots += [Slot(at, cell, float(det.n_adversarial), COUNT), Slot(at, cell, float(det.n_benign), COUNT),
                      Slot(at, cell, float(det.n_images), COUNT, "n_detection_images")]
            builder.add([model_label(model), cs, attack_label(attack, eps)], slots)
    return builder.table


def modes_table(cells: list[CellResult], comparer: Comparer | None = None) -> Table:
    """UnMask accuracy (%) in both defense modes per attack (no attack first), and the thresholds t."""
    idx = index_cells(cells)
    columns = [(NO_ATTACK, None)] + attack_keys(cells)
    values = [Column(name, attack_label(a, e)) for a, e in columns for name in ("Always", "Threshold")]
    builder = TableBuilder(
        "unmask_modes",
        "UnMask accuracy (%) by defense mode: always rectify (the original code's scoring) and "
        "threshold (Algorithm 1: rectify only what is detected, d >= t)",
        [Column("Model", align="l"), Column("Set", align="l"), Column("t", align="l")], values, comparer,
        [f"{NOT_RUN}: not in this run.", "t: the detection threshold(s) of the row's cells."])
    for model, cs in row_keys(cells):
        slots = []
        for attack, eps in columns:
            at = (model, cs, attack, eps)
            slots += [slot(idx, at, "acc_um_always", PERCENT, UM_METRIC),
                      slot(idx, at, "acc_um_threshold", PERCENT, UM_METRIC)]
        thresholds = sorted({c.threshold for c in cells if (c.model, c.class_set) == (model, cs)})
        builder.add([model_label(model), cs, " / ".join(f"{t:.3f}" for t in thresholds)], slots)
    return builder.table


def _overlap_means(cells: list[CellResult]) -> list[tuple[str, float, float | None, float | None, int]]:
    """(set, overlap %, mean AUC, mean UnMask accuracy, attacked cells) per paper class set of the run,
    by increasing overlap; means over every attacked cell of every model."""
    attacked = [c for c in cells if c.attack != NO_ATTACK and c.class_set in CLASS_SETS]
    out = []
    for cs in {c.class_set for c in attacked}:
        mine = [c for c in attacked if c.class_set == cs]
        out.append((cs, overlap_stats(CLASS_SETS[cs]).overlap_percent,
                    _mean(c.detection.auc if c.detection else None for c in mine),
                    _mean(c.acc_um_always for c in mine), len(mine)))
    return sorted(out, key=lambda row: (row[1], row[0]))


def overlap_table(cells: list[CellResult]) -> Table:
    """Feature overlap beside mean detection AUC and mean UnMask accuracy per class set (the papers'
    observation: lower overlap, better detection and defense)."""
    table = Table(
        "Feature overlap against detection and defense per class set (means over every attacked cell of "
        "every model; UnMask always rectifying)",
        [Column("Set", align="l"), Column("Overlap"), Column("Mean AUC"), Column("Mean UnMask accuracy (%)"),
         Column("Attacked cells")], notes=[f"{NO_AT}: no detection figure for this set."])
    for cs, overlap, auc, um, n in _overlap_means(cells):
        table.add([cs, f"{overlap:.2f}%", NO_AT if auc is None else RATE.show(auc),
                   NO_AT if um is None else PERCENT.show(um), str(n)])
    return table


def overlap_agreement(cells: list[CellResult]) -> dict[str, tuple[int, int]]:
    """For mean AUC and mean UnMask accuracy: (agreeing, compared) pairs of class sets, a pair agreeing
    when the set with lower overlap scores strictly higher than the set with higher overlap."""
    rows = _overlap_means(cells)
    result = {}
    for name, col in (("AUC", 2), ("UnMask accuracy", 3)):
        pairs = [(a[col], b[col]) for i, a in enumerate(rows) for b in rows[i + 1:]
                 if a[1] < b[1] and a[col] is not None and b[col] is not None]
        result[name] = (sum(lo > hi for lo, hi in pairs), len(pairs))
    return result


def comparison_table(records: list[Comparison]) -> Table:
    """Every comparable number of ours beside the published one, or 'none published'."""
    table = Table(
        "Our numbers beside the published ones (accuracies, rates and AUC as fractions; "
        "difference = ours - paper)",
        [Column("Table", align="l"), Column("Model", align="l"), Column("Set", align="l"),
         Column("Attack", align="l"), Column("Column", align="l"), Column("Ours"), Column("Paper"),
         Column("Difference"), Column("Source", align="l")])
    for r in records:
        table.add([r.table, model_label(r.cell.model), r.cell.class_set, attack_label(r.cell.attack, r.cell.eps),
                   r.column, r.fmt.raw(r.ours),
                   "none published" if r.published is None else r.fmt.raw(r.published),
                   "" if r.difference is None else r.fmt.raw_diff(r.difference), r.paper or ""])
    return table


def roc_figures(cells: list[CellResult], out_dir: Path) -> list[tuple[str, list[Path]]]:
    """One ROC figure per model x class set with a curve per attack; returns (title, paths) pairs."""
    drawn = [c for c in cells if c.detection is not None and len(c.detection.roc_fpr) >= 2]
    idx = index_cells(drawn)
    figures = []
    for model, cs in row_keys(drawn):
        curves = []
        for attack, eps in attack_keys(drawn):
            cell = idx.get((model, cs, attack, eps))
            if cell is not None:
                det = cell.detection
                curves.append((attack_label(attack, eps), det.roc_fpr, det.roc_tpr, det.auc))
        title = f"ROC, {model_label(model)}, {cs}"
        stem = f"roc_{safe_name(model, 'model')}__{safe_name(cs, 'class set')}"
        figures.append((title, roc_figure(title, curves, out_dir, stem)))
    return figures


def _mean(values: Iterable[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def mean_accuracies(cells: list[CellResult]) -> tuple[list[str], dict[str, list[float | None]]]:
    """Per class set, the mean accuracy (%) over every attacked cell of every model for None / AT / UM
    (AT left out when the run has none): the BigData'20 overview figure (Fig. 2)."""
    attacked = [c for c in cells if c.attack != NO_ATTACK]
    sets = _ordered({c.class_set for c in attacked}, _set_order())
    names = {"None": "acc_none", "AT": "acc_at", "UM": "acc_um_always"}
    if all(c.acc_at is None for c in attacked):
        del names["AT"]
    series = {}
    for label, attr in names.items():
        means = [_mean(getattr(c, attr) for c in attacked if c.class_set == s) for s in sets]
        series[label] = [None if m is None else 100 * m for m in means]
    return sets, series


def headline(cells: list[CellResult]) -> dict[str, float | None]:
    """Mean accuracy gain of UnMask (always rectify) over AT and over no defense across every attacked
    cell, as fractions (AT: over the cells that have it): the BigData'20 headline numbers."""
    attacked = [c for c in cells if c.attack != NO_ATTACK]
    return {
        "mean_um_minus_at": _mean(c.acc_um_always - c.acc_at for c in attacked if c.acc_at is not None),
        "mean_um_minus_none": _mean(c.acc_um_always - c.acc_none for c in attacked),
    }


TABLES: tuple[tuple[str, Callable[[list[CellResult], Comparer | None], Table], tuple[str, ...]], ...] = (
    ("kdd2019_table6", kdd_table, (KDD2019,)),
    ("bigdata2020_table3", bigdata_table, (BIGDATA2020,)),
    ("detection", detection_table, PAPERS),
    ("unmask_modes", modes_table, PAPERS),
)
"""(file stem, builder, papers compared with by default): the report's tables in index order."""


def check_paper(paper: str | None) -> None:
    """Raise ValueError for a paper name that is neither None nor one of PAPERS."""
    if paper is not None and paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; known papers: {', '.join(PAPERS)}")


def comparison_papers(paper: str | None, run_paper: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """Papers a table is compared with: the one asked for, else the run's own paper when it is a
    paper preset, else the table's default (its layout's paper; both papers, KDD'19 first, for the rest)."""
    check_paper(paper)
    if paper is not None:
        return (paper,)
    return (run_paper,) if run_paper in PAPERS else default


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.2f} points"


def _headline_lines(cells: list[CellResult], compare_papers: set[str] | None) -> list[str]:
    ours = headline(cells)
    n_attacked = sum(c.attack != NO_ATTACK for c in cells)
    n_at = sum(c.attack != NO_ATTACK and c.acc_at is not None for c in cells)
    lines = [f"Mean over the {n_attacked} attacked cells (UnMask always rectifying):", "",
             f"- UnMask - no defense: {_points(ours['mean_um_minus_none'])}",
             f"- UnMask - adversarial training: {_points(ours['mean_um_minus_at'])} ({n_at} cells with AT)"]
    if compare_papers and BIGDATA2020 in compare_papers:
        paper = {m: published(BIGDATA2020, None, None, None, None, m) for m in ours}
        lines += ["", f"BigData'20 (Fig. 2): UnMask - no defense {_points(paper['mean_um_minus_none'])}, "
                      f"UnMask - AT {_points(paper['mean_um_minus_at'])}."]
    return lines


def _overlap_lines(cells: list[CellResult]) -> list[str]:
    lines = ["Lower feature overlap, better detection and defense (the papers' observation), "
             "checked on every pair of class sets with different overlap:", ""]
    for name, (agree, total) in overlap_agreement(cells).items():
        verdict = ("not measurable (fewer than two paper class sets)" if total == 0 else
                   "reproduced" if agree == total else "not reproduced in this run")
        lines.append(f"- {name}: {agree} of {total} pairs agree: {verdict}")
    return lines


def _comparison_lines(records: list[Comparison], papers_used: set[str]) -> list[str]:
    found = [r for r in records if r.published is not None]
    lines = [f"{len(found)} of {len(records)} numbers of ours have a published counterpart "
             f"(compared with: {', '.join(PAPER_TITLES[p] for p in sorted(papers_used))}). "
             "Differences are ours - paper.", ""]
    groups: dict[tuple[str, bool], list[float]] = {}
    for r in found:
        groups.setdefault((r.table, r.fmt is COUNT), []).append(abs(r.difference))
    for (table, is_count), diffs in groups.items():
        what = "image counts" if is_count else "accuracies, rates, AUC (fractions)"
        mean = statistics.fmean(diffs)
        text = f"{mean:.0f} images" if is_count else f"{mean:.4f}"
        lines.append(f"- {table}, {what}: {len(diffs)} compared, mean |difference| {text}")
    with_paper = {r.cell.key for r in found}
    without = {r.cell.key: r.cell for r in records if r.cell.key not in with_paper}
    lines.append("")
    if without:
        lines.append(f"Cells of this run without any published counterpart ({len(without)}):")
        ordered = sorted(without.values(), key=lambda c: (c.model, c.class_set, attack_sort_key(c.attack, c.eps)))
        lines += [f"- {model_label(c.model)} / {c.class_set} / {attack_label(c.attack, c.eps)}" for c in ordered]
    else:
        lines.append("Every cell of this run has at least one published counterpart.")
    lines += ["", "Values without a counterpart are listed as 'none published' in the full list."]
    return lines


class _Output:
    """The files of a report under `root`, and the Markdown sections that link them from report.md."""

    def __init__(self, root: Path):
        self.root = root
        self.written: list[Path] = []

    def links(self, paths: Sequence[Path]) -> str:
        return " · ".join(f"[{p.suffix[1:].upper()}]({p.relative_to(self.root).as_posix()})" for p in paths)

    def table(self, table: Table, stem: str, extra: Sequence[str] = (), embed: bool = True) -> list[str]:
        """Write the table's files; the index lines: the table (when `embed`), `extra` lines, the links."""
        paths = write_table(table, self.root / "tables", stem)
        self.written += paths
        shown = [to_markdown(table)] if embed else []
        return [*shown, *extra, *([""] if extra else []), self.links(paths), ""]

    def figure(self, title: str, paths: list[Path]) -> list[str]:
        self.written += paths
        return [f"![{title}]({paths[0].relative_to(self.root).as_posix()})", "", self.links(paths), ""]


def _summary_lines(run_dir: Path, info: dict[str, str | None], cells: list[CellResult]) -> list[str]:
    rows = row_keys(cells)
    models = ", ".join(model_label(m) for m in dict.fromkeys(m for m, _ in rows))
    class_sets = ", ".join(dict.fromkeys(s for _, s in rows))
    attacks = ", ".join(attack_label(a, e) for a, e in attack_keys(cells)) or "none"
    return [
        f"# UnMask report: {run_dir.resolve().name}", "",
        f"Preset: {info['preset'] or 'n/a'} · paper: {info['paper'] or 'n/a'} · {len(cells)} cells · "
        f"models: {models} · class sets: {class_sets} · attacks: {attacks}", "",
        "Defense: accuracies over all test images, every one attacked (contamination 1); No Def / None = M alone, "
        "AT = adversarially trained M, UnMask / UM = UnMask always rectifying (how the papers' numbers were "
        "scored); the threshold mode of Algorithm 1 is in the UnMask-modes table. Detection: the images whose "
        "attack succeeded plus their benign versions (contamination 0.5), adversarial = positive, "
        "score 1 - Jaccard(found parts, expected parts).", "",
    ]


def write_report(run_dir: str | Path, out_dir: str | Path | None = None, compare_paper: bool = False,
                 paper: str | None = None) -> list[Path]:
    """Write the tables, figures and the report.md index of a run; returns the written files.

    `out_dir` defaults to `run_dir/report`. With `compare_paper`, every number that has a published
    counterpart gets it beside it with the difference; `paper` (kdd2019 | bigdata2020) picks the
    paper to compare with (default: see `comparison_papers`).
    """
    run_dir = Path(run_dir)
    check_paper(paper)
    cells = load_results(run_dir)
    if not cells:
        raise ResultsError(f"{run_dir}: the run has no finished cells yet")
    info = load_run_info(run_dir)
    output = _Output(Path(out_dir) if out_dir is not None else run_dir / "report")

    tables: list[str] = []
    comparers: list[Comparer] = []
    for stem, build, default in TABLES:
        comparer = Comparer(comparison_papers(paper, info["paper"], default)) if compare_paper else None
        tables += output.table(build(cells, comparer), stem)
        comparers += [comparer] if comparer else []
    tables += output.table(overlap_table(cells), "overlap", _overlap_lines(cells))

    figures: list[str] = []
    for title, paths in roc_figures(cells, output.root / "figures"):
        figures += output.figure(title, paths)
    sets, series = mean_accuracies(cells)
    if sets:
        title = "Mean accuracy over all attacks per class set"
        figures += output.figure(title, accuracy_bars(title, sets, series, output.root / "figures", "mean_accuracy"))

    papers_used = {p for c in comparers for p in c.papers}
    lines = [*_summary_lines(run_dir, info, cells),
             "## Headline", "", *_headline_lines(cells, papers_used if compare_paper else None), "",
             "## Tables", "", *tables,
             "## Figures", "", *(figures or ["No figure: the run has no detection or attacked cells.", ""])]
    if compare_paper:
        records = [r for c in comparers for r in c.records]
        lines += ["## Comparison with the published numbers", "", *_comparison_lines(records, papers_used), "",
                  "Full list:", "", *output.table(comparison_table(records), "paper_comparison", embed=False)]
    index = output.root / "report.md"
    index.write_text("\n".join(lines), encoding="utf-8")
    output.written.append(index)
    log.info("report of %s: %d files in %s", run_dir, len(output.written), output.root)
    return output.written
