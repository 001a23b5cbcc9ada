"""The report's tables, in the papers' layouts, built from whatever defenses and attacks a run holds.

Columns follow the run: attacks and eps in the papers' order; defenses in the run's order, each
paper layout showing the defenses its paper published plus every defense no paper has (a new
defense appears in every layout without a change here). Cells are `results.CellResult`s; a defense
entry is the dict `results.run_defenses` gives (name, display, short, paper_metric, main_table,
family, paper_labels).
"""
from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from unmask import registry
from unmask.paper_numbers import BIGDATA2020, KDD2019, OPERATING_POINT, THESIS2021, published, published_metrics
from unmask.parts import CLASS_SETS, overlap_stats
from unmask.report.figures import Curve, roc_figure, roc_panels
from unmask.report.tables import Column, Table
from unmask.results import NO_ATTACK, CellResult, attack_label, attack_sort_key, model_label, safe_name

log = logging.getLogger(__name__)

NOT_RUN = "n/a"
"""Cell text for a model x set x attack the run does not contain."""
NO_AT = "-"
"""Cell text for an adversarial-training accuracy the run does not have."""
NO_PUBLISHED = "n/a"

UNMASK = "unmask"
"""The defense whose figures the papers' overlap observation and headline are about."""
ALWAYS_RECTIFY_NOTE = ("Under always-rectify scoring M changes UnMask's accuracy only through the adversarial images "
                       "it induces: the answer argmax_c J(K(x_adv), V[c]) does not read M's prediction.")
DefenseEntry = dict[str, Any]

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


def accuracy_slot(idx: CellIndex, at: CellKey, defense: DefenseEntry, fmt: Fmt, field: str = "accuracy") -> Slot:
    """The accuracy of `defense` in the cell at `at` (`field`: over all images, or `success_accuracy`:
    over the successfully attacked ones); absent cells give an empty slot."""
    cell = idx.get(at)
    value = None if cell is None else getattr(cell, field).get(defense["name"])
    return Slot(at, cell, value, fmt, defense["paper_metric"])


def paper_defenses(defenses: Sequence[DefenseEntry], paper: str) -> list[DefenseEntry]:
    """The main-table defenses a paper layout shows: those the paper published, and every defense no
    paper has."""
    metrics = published_metrics(paper)
    return [d for d in defenses if d["main_table"] and (d["paper_metric"] is None or d["paper_metric"] in metrics)]


def main_defenses(defenses: Sequence[DefenseEntry]) -> list[DefenseEntry]:
    return [d for d in defenses if d["main_table"]]


def _label(defense: DefenseEntry, paper: str) -> str:
    return defense["paper_labels"].get(paper, defense["short"])


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


def set_order() -> list[str]:
    return [*registry.PAPER_CLASS_SETS, *CLASS_SETS]


def row_keys(cells: Iterable[CellResult]) -> list[tuple[str, str]]:
    """The (model, class set) rows of a run in the papers' order."""
    cells = list(cells)
    models = _ordered((c.model for c in cells), list(registry.ARCHS))
    sets = _ordered((c.class_set for c in cells), set_order())
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


_NOTES = [f"{NOT_RUN}: not in this run.", f"{NO_AT}: the defense was not scored in this cell (e.g. no adversarially "
          "trained model)."]


def kdd_table(cells: list[CellResult], defenses: Sequence[DefenseEntry], comparer: Comparer | None = None) -> Table:
    """KDD'19 Table 6 layout and protocol: rows model x set; No Attk (all benign test images), then each
    defense per attack, in percent, scored on the images the attack perturbed successfully (KDD Table 4)."""
    idx = index_cells(cells)
    attacks = attack_keys(cells)
    shown = paper_defenses(defenses, KDD2019)
    values = [Column("No Attk")]
    for attack, eps in attacks:
        values += [Column(_label(d, KDD2019), attack_label(attack, eps)) for d in shown]
    builder = TableBuilder(
        "kdd2019_table6",
        "Accuracy (%) in the KDD'19 Table 6 layout, on the images each attack perturbed successfully (KDD's "
        "protocol; no defense is therefore 0): " + ", ".join(f"{_label(d, KDD2019)} = {d['display']}" for d in shown),
        [Column("Model", align="l"), Column("Set", align="l"), Column("Overlap")], values, comparer,
        [f"{NOT_RUN}: not in this run (Overlap: not a paper class set).", *_NOTES[1:],
         "Images scored per cell: kdd2019_table4."])
    baseline = shown[0] if shown else None
    for model, cs in row_keys(cells):
        slots = [accuracy_slot(idx, (model, cs, NO_ATTACK, None), baseline, PERCENT)] if baseline else []
        for attack, eps in attacks:
            slots += [accuracy_slot(idx, (model, cs, attack, eps), d, PERCENT, "success_accuracy") for d in shown]
        builder.add([model_label(model), cs, _overlap_text(cs)], slots)
    return builder.table


def kdd_counts_table(cells: list[CellResult], defenses: Sequence[DefenseEntry], comparer: Comparer | None = None) -> Table:
    """KDD'19 Table 4 layout: per model x set and attack, the test images the attack perturbed
    successfully on M (the images behind the KDD defense table)."""
    idx = index_cells(cells)
    attacks = attack_keys(cells)
    builder = TableBuilder(
        "kdd2019_table4", "Images the attack perturbed successfully on M (KDD'19 Table 4 layout: the images behind "
        "the KDD defense table)", [Column("Model", align="l"), Column("Set", align="l")],
        [Column(attack_label(a, e)) for a, e in attacks], comparer, [f"{NOT_RUN}: not in this run."])
    for model, cs in row_keys(cells):
        slots = []
        for attack, eps in attacks:
            cell = idx.get((model, cs, attack, eps))
            count = None if cell is None or "none" not in cell.n_success else float(cell.n_success["none"])
            slots.append(Slot((model, cs, attack, eps), cell, count, COUNT, "n_defense_images"))
        builder.add([model_label(model), cs], slots)
    return builder.table


def bigdata_table(cells: list[CellResult], defenses: Sequence[DefenseEntry], comparer: Comparer | None = None) -> Table:
    """BigData'20 Table 3 layout: rows model x set; every defense per attack (no attack first), fractions."""
    idx = index_cells(cells)
    columns = [(NO_ATTACK, None)] + attack_keys(cells)
    shown = paper_defenses(defenses, BIGDATA2020)
    values = [Column(_label(d, BIGDATA2020), attack_label(a, e)) for a, e in columns for d in shown]
    builder = TableBuilder(
        "bigdata2020_table3",
        "Accuracy in the BigData'20 Table 3 layout: " + ", ".join(f"{_label(d, BIGDATA2020)} = {d['display']}" for d in shown),
        [Column("Model", align="l"), Column("Set", align="l")], values, comparer, _NOTES)
    for model, cs in row_keys(cells):
        slots = [accuracy_slot(idx, (model, cs, a, e), d, FRACTION) for a, e in columns for d in shown]
        builder.add([model_label(model), cs], slots)
    return builder.table


def detection_cells(cells: Iterable[CellResult], defenses: Sequence[DefenseEntry]) -> list[tuple[DefenseEntry, CellResult]]:
    """(detector, cell) for every main-table detector's figures in the run."""
    return [(d, c) for d in main_defenses(defenses) for c in cells if d["name"] in c.detection]


def _rate_keys(detected: list[tuple[DefenseEntry, CellResult]]) -> list[str]:
    keys = {k for d, c in detected for k in c.detection[d["name"]].tpr_at_fpr}
    return sorted(keys, key=float)


def detection_table(cells: list[CellResult], defenses: Sequence[DefenseEntry], comparer: Comparer | None = None) -> Table:
    """Detection per detector x model x set x attack: AUC; TPR, FPR reached and threshold at each
    target FPR; the images behind the figures (adversarial + benign: the papers' image-count table)."""
    detected = detection_cells(cells, defenses)
    rates = _rate_keys(detected)
    values = [Column("AUC")]
    for key in rates:
        values += [Column(name, f"FPR {100 * float(key):g}%") for name in ("TPR", "FPR", "t", "ROC TPR", "ROC FPR")]
    values += [Column(name, "Images") for name in ("Adversarial", "Benign", "Total")]
    builder = TableBuilder(
        "detection",
        "Detection (contamination 0.5): ROC AUC; at each target FPR the TPR and FPR reached on the test images "
        "with the threshold t chosen on held-out benign images, and the papers' operating point read off the test "
        "ROC itself (ROC TPR / ROC FPR: highest TPR at FPR <= target); images behind each figure",
        [Column("Defense", align="l"), Column("Model", align="l"), Column("Set", align="l"),
         Column("Attack", align="l")], values, comparer,
        [f"{NO_AT}: not measured for this cell (AUC: only one class among the images)."])
    for defense in main_defenses(defenses):
        idx = index_cells(c for d, c in detected if d is defense)
        for model, cs in row_keys(idx.values()):
            for attack, eps in attack_keys(idx.values()):
                at = (model, cs, attack, eps)
                cell = idx.get(at)
                if cell is None:
                    continue
                det = cell.detection[defense["name"]]
                published_ok = defense["paper_metric"] is not None  # a paper defense: its detection was published

                def metric(name: str) -> str | None:
                    return name if published_ok else None

                slots = [Slot(at, cell, det.auc, RATE, metric("auc"))]
                for key in rates:
                    point = key == OPERATING_POINT  # compared with the published point, read off a ROC as ours
                    slots += [Slot(at, cell, det.tpr_at_fpr.get(key), RATE), Slot(at, cell, det.fpr_at_fpr.get(key), RATE),
                              Slot(at, cell, det.threshold_at_fpr.get(key), RATE),
                              Slot(at, cell, det.roc_tpr_at_fpr.get(key), RATE, metric(f"tpr_at_fpr_{key}") if point else None),
                              Slot(at, cell, det.roc_fpr_at_fpr.get(key), RATE, metric(f"fpr_at_fpr_{key}") if point else None)]
                slots += [Slot(at, cell, float(det.n_adversarial), COUNT), Slot(at, cell, float(det.n_benign), COUNT),
                          Slot(at, cell, float(det.n_images), COUNT, metric("n_detection_images"))]
                builder.add([defense["display"], model_label(model), cs, attack_label(attack, eps)], slots)
    return builder.table


def modes_table(cells: list[CellResult], defenses: Sequence[DefenseEntry], comparer: Comparer | None = None) -> Table:
    """Accuracy (%) of the members of each defense family side by side (UnMask: always rectify and
    threshold mode) per attack (no attack first), and the thresholds t of the row's cells."""
    idx = index_cells(cells)
    columns = [(NO_ATTACK, None)] + attack_keys(cells)
    families: dict[str, list[DefenseEntry]] = {}
    for d in defenses:
        if d["family"]:
            families.setdefault(d["family"], []).append(d)
    members = [d for group in families.values() if len(group) > 1 for d in group]
    values = [Column(d["display"], attack_label(a, e)) for a, e in columns for d in members]
    builder = TableBuilder(
        "unmask_modes",
        "UnMask accuracy (%) by defense mode: always rectify (the original code's scoring) and "
        "threshold (Algorithm 1: rectify only what is detected, d >= t)",
        [Column("Model", align="l"), Column("Set", align="l"), Column("t", align="l")], values, comparer,
        [f"{NOT_RUN}: not in this run.", "t: the detection threshold(s) of the row's cells.", ALWAYS_RECTIFY_NOTE])
    for model, cs in row_keys(cells):
        slots = [accuracy_slot(idx, (model, cs, a, e), d, PERCENT) for a, e in columns for d in members]
        thresholds = sorted({t for c in cells if (c.model, c.class_set) == (model, cs)
                             for name, t in c.thresholds.items() if any(d["name"] == name for d in members)})
        builder.add([model_label(model), cs, " / ".join(f"{t:.3f}" for t in thresholds)], slots)
    return builder.table


ALL_SETS = "all_sets"
"""The row label of a model's means over every class set of the run (the thesis quotes its averages so)."""
THESIS_MEANS: tuple[tuple[str, str, str], ...] = (("PGD", "pgd_", "acc_um_mean_pgd"), ("MIA", "mim_", "acc_um_mean_mim"),
                                                  ("all", "", "acc_um_mean"))
"""The thesis' mean columns (Table 5): label, the attack ids they average over (prefix), the published metric."""


def _mean_cell(cells: list[CellResult], model: str, class_set: str | None, attack: str, eps: float | None) -> CellResult | None:
    """A cell holding each defense's mean accuracy over ``cells`` (None when there are none)."""
    if not cells:
        return None
    names = dict.fromkeys(name for c in cells for name in c.accuracy)
    accuracy = {name: _mean(c.accuracy.get(name) for c in cells) for name in names}
    return CellResult(model, class_set or ALL_SETS, attack, eps, sum(c.n_images for c in cells), accuracy)


def thesis_table(cells: list[CellResult], defenses: Sequence[DefenseEntry], comparer: Comparer | None = None) -> Table:
    """The thesis' Table 7 layout, with its Tables 4-5 means: per model x set, and per model over all sets,
    M's accuracy without defense averaged over the attacks, UnMask (always rectify) per attack, and
    UnMask's means over the PGD attacks, the MI-FGSM attacks and all attacks, in both scoring modes. Only
    the thesis publishes these means, so the table is compared with no other paper."""
    if comparer is not None and THESIS2021 not in comparer.papers:
        comparer = None
    attacked = [c for c in cells if c.attack != NO_ATTACK]
    attacks = attack_keys(attacked)
    by_name = {d["name"]: d for d in defenses}
    modes = [by_name[n] for n in (UNMASK, "unmask_threshold") if n in by_name]
    values = [Column("None (mean)")] + [Column(by_name[UNMASK]["short"] if UNMASK in by_name else UNMASK,
                                               attack_label(a, e)) for a, e in attacks]
    values += [Column(d["short"], f"mean {label}") for label, _, _ in THESIS_MEANS for d in modes]
    builder = TableBuilder(
        "thesis2021_table7",
        "Accuracy (%) in the thesis' Table 7 layout (Xiong 2021; with its Tables 4-5 means): M without defense "
        "averaged over the attacks, UnMask per attack, UnMask's means over the PGD, MI-FGSM and all attacks",
        [Column("Model", align="l"), Column("Set", align="l")], values, comparer,
        [f"{NOT_RUN}: not in this run.", f"{ALL_SETS}: means over every class set of the run (the thesis quotes "
         "no defense 18.33, UnMask 87.01 vs 80.48, MI-FGSM Linf 16 61.88 -> 77.42 so; its Tables 4-5 are one "
         "dataset).", ALWAYS_RECTIFY_NOTE])
    models = dict.fromkeys(m for m, _ in row_keys(attacked))
    for model, cs in [*row_keys(attacked), *((m, None) for m in models)]:
        mine = [c for c in attacked if c.model == model and cs in (None, c.class_set)]

        def slot(group: list[CellResult], attack: str, eps: float | None, defense: str, metric: str | None) -> Slot:
            cell = _mean_cell(group, model, cs, attack, eps)
            value = None if cell is None else cell.accuracy.get(defense)
            return Slot((model, cs, attack if eps is not None else None, eps), cell, value, PERCENT, metric)

        slots = [slot(mine, "mean_all", None, "none", "acc_none_mean")]
        slots += [slot([c for c in mine if (c.attack, c.eps) == (a, e)], a, e, UNMASK, "acc_um") for a, e in attacks]
        for label, prefix, metric in THESIS_MEANS:
            group = [c for c in mine if c.attack.startswith(prefix)]
            slots += [slot(group, f"mean_{label.lower()}", None, d["name"], metric if d["name"] == UNMASK else None)
                      for d in modes]
        builder.add([model_label(model), cs or ALL_SETS], slots)
    return builder.table


def _overlap_means(cells: list[CellResult]) -> list[tuple[str, float, float | None, float | None, int]]:
    """(set, overlap %, mean AUC, mean UnMask accuracy, attacked cells) per paper class set of the run,
    by increasing overlap; means over every attacked cell of every model."""
    attacked = [c for c in cells if c.attack != NO_ATTACK and c.class_set in CLASS_SETS]
    out = []
    for cs in {c.class_set for c in attacked}:
        mine = [c for c in attacked if c.class_set == cs]
        out.append((cs, overlap_stats(CLASS_SETS[cs]).overlap_percent,
                    _mean(c.detection[UNMASK].auc if UNMASK in c.detection else None for c in mine),
                    _mean(c.accuracy.get(UNMASK) for c in mine), len(mine)))
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


def _roc_curves(cells: Iterable[CellResult], detector: str, label: Callable[[CellResult], str]) -> list[Curve]:
    return [(label(c), c.detection[detector].roc_fpr, c.detection[detector].roc_tpr, c.detection[detector].auc)
            for c in cells]


def roc_figures(cells: list[CellResult], defenses: Sequence[DefenseEntry], out_dir: Path) -> list[tuple[str, list[Path]]]:
    """Per detector: one figure per model x class set with a curve per attack, and per model the
    papers' layout (one panel per attack, a curve per class set); (title, paths) pairs."""
    figures = []
    for defense in main_defenses(defenses):
        name = defense["name"]
        drawn = [c for c in cells if name in c.detection and len(c.detection[name].roc_fpr) >= 2]
        idx = index_cells(drawn)
        for model, cs in row_keys(drawn):
            mine = [idx[(model, cs, a, e)] for a, e in attack_keys(drawn) if (model, cs, a, e) in idx]
            title = f"ROC, {defense['display']}, {model_label(model)}, {cs}"
            stem = f"roc_{safe_name(name, 'defense')}__{safe_name(model, 'model')}__{safe_name(cs, 'class set')}"
            figures.append((title, roc_figure(title, _roc_curves(mine, name, lambda c: attack_label(c.attack, c.eps)),
                                              out_dir, stem)))
        for model in dict.fromkeys(m for m, _ in row_keys(drawn)):
            panels = []
            for attack, eps in attack_keys(drawn):
                mine = [idx[(model, cs, attack, eps)] for m, cs in row_keys(drawn)
                        if m == model and (model, cs, attack, eps) in idx]
                if mine:
                    panels.append((attack_label(attack, eps), _roc_curves(mine, name, lambda c: c.class_set)))
            title = f"ROC by attack, {defense['display']}, {model_label(model)} (the papers' layout)"
            stem = f"roc_by_attack_{safe_name(name, 'defense')}__{safe_name(model, 'model')}"
            figures.append((title, roc_panels(title, panels, out_dir, stem)))
    return figures


def _mean(values: Iterable[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def mean_accuracies(cells: list[CellResult], defenses: Sequence[DefenseEntry]) -> tuple[list[str], dict[str, list[float | None]]]:
    """Per class set, the mean accuracy (%) over every attacked cell of every model for each main-table
    defense the run scored: the BigData'20 overview figure (Fig. 2)."""
    attacked = [c for c in cells if c.attack != NO_ATTACK]
    sets = _ordered({c.class_set for c in attacked}, set_order())
    series = {}
    for d in main_defenses(defenses):
        means = [_mean(c.accuracy.get(d["name"]) for c in attacked if c.class_set == s) for s in sets]
        if any(m is not None for m in means):
            series[d["short"]] = [None if m is None else 100 * m for m in means]
    return sets, series


def headline(cells: list[CellResult]) -> dict[str, float | None]:
    """Mean accuracy gain of UnMask (always rectify) over AT and over no defense across every attacked
    cell, as fractions (over the cells that have both): the BigData'20 headline numbers."""
    attacked = [c for c in cells if c.attack != NO_ATTACK and UNMASK in c.accuracy]
    return {
        "mean_um_minus_at": _mean(c.accuracy[UNMASK] - c.accuracy["adversarial_training"] for c in attacked
                                  if "adversarial_training" in c.accuracy),
        "mean_um_minus_none": _mean(c.accuracy[UNMASK] - c.accuracy["none"] for c in attacked if "none" in c.accuracy),
    }
