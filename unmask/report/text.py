"""The report's prose: the run summary, the headline gains, the overlap check, the comparison summary."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Sequence

from unmask import registry
from unmask.paper_numbers import BIGDATA2020, THESIS2021, published
from unmask.report.layouts import COUNT, Comparison, DefenseEntry, attack_keys, headline, main_defenses, overlap_agreement, row_keys
from unmask.results import NO_ATTACK, CellResult, attack_label, attack_sort_key, model_label


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.2f} points"


def headline_lines(cells: list[CellResult], compare_papers: set[str] | None) -> list[str]:
    ours = headline(cells)
    n_attacked = sum(c.attack != NO_ATTACK for c in cells)
    n_at = sum(c.attack != NO_ATTACK and "adversarial_training" in c.accuracy for c in cells)
    lines = [f"Mean over the {n_attacked} attacked cells (UnMask always rectifying):", "",
             f"- UnMask - no defense: {_points(ours['mean_um_minus_none'])}",
             f"- UnMask - adversarial training: {_points(ours['mean_um_minus_at'])} ({n_at} cells with AT)"]
    if compare_papers and BIGDATA2020 in compare_papers:
        paper = {m: published(BIGDATA2020, None, None, None, None, m) for m in ours}
        lines += ["", f"BigData'20 (Fig. 2): UnMask - no defense {_points(paper['mean_um_minus_none'])}, "
                      f"UnMask - AT {_points(paper['mean_um_minus_at'])}."]
    if compare_papers and THESIS2021 in compare_papers:
        def quoted(model: str, attack: str | None, eps: float | None, metric: str) -> str:
            return f"{100 * published(THESIS2021, model, None, attack, eps, metric):.2f}%"
        lines += ["", "Thesis (Table 7, means over the class sets; ours: the thesis2021_table7 rows 'all_sets'): "
                      f"M without defense {quoted('resnet101_fd', None, None, 'acc_none_mean')}; UnMask "
                      f"{quoted('resnet101_fd', None, None, 'acc_um_mean')} with ResNet101-FD against "
                      f"{quoted('densenet121', None, None, 'acc_um_mean')} with DenseNet121; under MIA-Linf 16 "
                      f"{quoted('densenet121', 'mim_linf', 16.0, 'acc_um')} -> {quoted('resnet101_fd', 'mim_linf', 16.0, 'acc_um')}."]
    return lines


def overlap_lines(cells: list[CellResult]) -> list[str]:
    lines = ["Lower feature overlap, better detection and defense (the papers' observation), "
             "checked on every pair of class sets with different overlap:", ""]
    for name, (agree, total) in overlap_agreement(cells).items():
        verdict = ("not measurable (fewer than two paper class sets)" if total == 0 else
                   "reproduced" if agree == total else "not reproduced in this run")
        lines.append(f"- {name}: {agree} of {total} pairs agree: {verdict}")
    return lines


def comparison_lines(records: list[Comparison], papers_used: set[str]) -> list[str]:
    found = [r for r in records if r.published is not None]
    lines = [f"{len(found)} of {len(records)} numbers of ours have a published counterpart "
             f"(compared with: {', '.join(registry.PAPERS[p].title for p in sorted(papers_used))}). "
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


def summary_lines(run_dir: Path, info: dict[str, Any], cells: list[CellResult],
                  defenses: Sequence[DefenseEntry]) -> list[str]:
    """The report's opening: what the run holds and how each figure was scored."""
    rows = row_keys(cells)
    models = ", ".join(model_label(m) for m in dict.fromkeys(m for m, _ in rows))
    class_sets = ", ".join(dict.fromkeys(s for _, s in rows))
    attacks = ", ".join(attack_label(a, e) for a, e in attack_keys(cells)) or "none"
    named = "; ".join(f"{d['short']} = {d['display']}" for d in defenses)
    skipped = info.get("skipped") or {}
    skip_line = [f"Unreadable images left out: {len(skipped)} (each named with its error in results.json, "
                 "'skipped').", ""] if skipped else []
    return [
        f"# UnMask report: {run_dir.resolve().name}", "",
        f"Preset: {info['preset'] or 'n/a'} · paper: {info['paper'] or 'n/a'} · {len(cells)} cells · "
        f"models: {models} · class sets: {class_sets} · attacks: {attacks}", "",
        f"Defenses: {named}. Accuracies are over all test images, every one attacked (contamination 1), each "
        "attack crafted white-box against the model the defense uses; UnMask always rectifying is how the papers' "
        "numbers were scored, its threshold mode (Algorithm 1) is in the UnMask-modes table. Detection: the images "
        "whose attack succeeded plus their benign versions (contamination 0.5), adversarial = positive; UnMask's "
        "score is 1 - Jaccard(found parts, expected parts).", "",
        *skip_line,
    ]
