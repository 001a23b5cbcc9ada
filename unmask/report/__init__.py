"""`unmask report RUN_DIR`: the papers' tables and figures from a run's results.

Reads the cells of a run (`results.load_results`) and writes into `RUN_DIR/report/`:
  tables/kdd2019_table6.*     accuracy (%) in the KDD'19 Table 6 layout and protocol (No Def / UnMask / new
                              defenses per attack, on the successfully attacked images)
  tables/kdd2019_table4.*     those images' counts (KDD'19 Table 4 layout)
  tables/bigdata2020_table3.* accuracy (fraction) in the BigData'20 Table 3 layout (None / AT / UM / new defenses)
  tables/detection.*          per detector: AUC, TPR at FPR 5% / 10%, images behind each figure
  tables/unmask_modes.*       UnMask accuracy, always-rectify beside threshold mode (Algorithm 1)
  tables/thesis2021_table7.*  accuracy (%) in the thesis' Table 7 layout: M without defense (mean over the attacks),
                              UnMask per attack, UnMask's means (its Tables 4-5) in both modes, per set and over all sets
  tables/overlap.*            feature overlap beside mean AUC and UnMask accuracy per class set
  tables/paper_comparison.*   with --compare-paper: every comparable number, ours / paper / difference
  figures/roc_<defense>__<model>__<set>.*  ROC curves, one per attack, AUC in the legend
  figures/mean_accuracy.*     mean accuracy per class set for every defense over all attacks
  report.md                   the index: everything above, embedded or linked
Tables are Markdown, CSV and LaTeX; figures PNG and PDF. Columns follow the attacks, eps and defenses
the run contains, in the papers' order. The report is written into a temporary folder and swapped in
whole, so a failure half-way never leaves new tables beside an old report.md.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from unmask.fileio import read_json, write_text_atomic
from unmask.paper_numbers import BIGDATA2020, KDD2019, PAPERS
from unmask.report.figures import accuracy_bars
from unmask.report.layouts import (
    Comparer, DefenseEntry, bigdata_table, comparison_table, detection_table, kdd_counts_table, kdd_table,
    mean_accuracies,
    modes_table, overlap_table, roc_figures, thesis_table,
)
from unmask.report.tables import Table, to_markdown, write_table
from unmask.report.text import comparison_lines, headline_lines, overlap_lines, summary_lines
from unmask.results import CellResult, ResultsError, load_results, load_run_info, run_defenses

log = logging.getLogger(__name__)

TableBuild = Callable[[list[CellResult], Sequence[DefenseEntry], "Comparer | None"], Table]
TABLES: tuple[tuple[str, TableBuild, tuple[str, ...]], ...] = (
    ("kdd2019_table6", kdd_table, (KDD2019,)),
    ("kdd2019_table4", kdd_counts_table, (KDD2019,)),
    ("bigdata2020_table3", bigdata_table, (BIGDATA2020,)),
    ("detection", detection_table, PAPERS),
    ("unmask_modes", modes_table, PAPERS),
    ("thesis2021_table7", thesis_table, ()),
)
"""(file stem, builder, papers compared with by default): the report's tables in index order. The thesis
layout is compared only in a thesis run or with --paper thesis2021 (``thesis_table``)."""


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


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _swap_in(built: Path, target: Path) -> None:
    """Replace the folder `target` by `built` (two renames); refuse to replace a folder that is not a report."""
    if target.exists():
        if not target.is_dir() or (any(target.iterdir()) and not (target / "report.md").is_file()):
            raise FileExistsError(f"{target} exists and is not a report folder (no report.md): choose another --out")
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
        os.replace(built, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(built, target)


def write_report(run_dir: str | Path, out_dir: str | Path | None = None, compare_paper: bool = False,
                 paper: str | None = None) -> list[Path]:
    """Write the tables, figures and the report.md index of a run; returns the written files.

    `out_dir` defaults to `run_dir/report`. With `compare_paper`, every number that has a published
    counterpart gets it beside it with the difference; `paper` (kdd2019 | bigdata2020) picks the
    paper to compare with (default: see `comparison_papers`).
    """
    run_dir = Path(run_dir)
    check_paper(paper)
    if (run_dir / "run.json").is_file() and (read_json(run_dir / "run.json") or {}).get("experiment") == "foreground":
        from unmask.report.foreground import write_foreground_report

        return write_foreground_report(run_dir, out_dir, compare_paper)
    cells = load_results(run_dir)
    if not cells:
        raise ResultsError(f"{run_dir}: the run has no finished cells yet")
    info = load_run_info(run_dir)
    defenses = run_defenses(cells, info["defenses"])
    target = Path(out_dir) if out_dir is not None else run_dir / "report"
    target.parent.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix=f".{target.name}.new.", dir=target.parent))
    built.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would make the report private
    try:
        output = _Output(built)
        _write(output, run_dir, info, cells, defenses, compare_paper, paper)
        _swap_in(built, target)
    finally:
        shutil.rmtree(built, ignore_errors=True)
    written = [target / p.relative_to(built) for p in output.written]
    log.info("report of %s: %d files in %s", run_dir, len(written), target)
    return written


def _write(output: _Output, run_dir: Path, info: dict, cells: list[CellResult], defenses: list[DefenseEntry],
           compare_paper: bool, paper: str | None) -> None:
    tables: list[str] = []
    comparers: list[Comparer] = []
    for stem, build, default in TABLES:
        comparer = Comparer(comparison_papers(paper, info["paper"], default)) if compare_paper else None
        tables += output.table(build(cells, defenses, comparer), stem)
        comparers += [comparer] if comparer else []
    tables += output.table(overlap_table(cells), "overlap", overlap_lines(cells))

    figures: list[str] = []
    for title, paths in roc_figures(cells, defenses, output.root / "figures"):
        figures += output.figure(title, paths)
    sets, series = mean_accuracies(cells, defenses)
    if sets:
        title = "Mean accuracy over all attacks per class set"
        figures += output.figure(title, accuracy_bars(title, sets, series, output.root / "figures", "mean_accuracy"))

    papers_used = {p for c in comparers for p in c.papers}
    lines = [*summary_lines(run_dir, info, cells, defenses),
             "## Headline", "", *headline_lines(cells, papers_used if compare_paper else None), "",
             "## Tables", "", *tables,
             "## Figures", "", *(figures or ["No figure: the run has no detection or attacked cells.", ""])]
    if compare_paper:
        records = [r for c in comparers for r in c.records]
        lines += ["## Comparison with the published numbers", "", *comparison_lines(records, papers_used), "",
                  "Full list:", "", *output.table(comparison_table(records), "paper_comparison", embed=False)]
    index = write_text_atomic(output.root / "report.md", "\n".join(lines))
    output.written.append(index)
