"""A plain table of strings and its three renderings: Markdown, CSV and LaTeX (booktabs).

Columns may carry a group (a paper's two-level header such as "PGD-Linf 8" over "None | AT | UM"):
LaTeX draws the group with \\multicolumn, Markdown and CSV flatten it to "group: column" so that
the CSV stays one header line that any CSV reader parses back.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from unmask.fileio import write_text_atomic


@dataclass(frozen=True)
class Column:
    """A column: its name, the group it sits under ("" for none), its LaTeX alignment."""

    name: str
    group: str = ""
    align: str = "r"

    @property
    def flat(self) -> str:
        return f"{self.group}: {self.name}" if self.group else self.name


@dataclass
class Table:
    """Rows of already formatted strings under `columns`; `notes` print below the table."""

    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for row in self.rows:
            self._check(row)

    def _check(self, row: list[str]) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"{self.title}: row {row} has {len(row)} cells for {len(self.columns)} columns")

    def add(self, row: list[str]) -> None:
        self._check(row)
        self.rows.append(row)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(table: Table, heading_level: int = 3) -> str:
    """The table as GitHub Markdown, with its title as a heading and its notes below."""
    lines = [f"{'#' * heading_level} {table.title}", ""]
    lines.append("| " + " | ".join(_md_cell(c.flat) for c in table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.rows]
    if table.notes:
        lines += [""] + [f"- {note}" for note in table.notes]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """The table as CSV: one header line of flattened column names, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.flat for c in table.columns])
    writer.writerows(table.rows)
    return buffer.getvalue()


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(table: Table, label: str = "") -> str:
    """The table as a LaTeX `table` with a booktabs `tabular` (needs \\usepackage{booktabs})."""
    spec = "".join(c.align for c in table.columns)
    lines = [r"\begin{table}[ht]", r"\centering", f"\\caption{{{latex_escape(table.title)}}}"]
    if label:
        lines.append(f"\\label{{{label}}}")
    lines += [f"\\begin{{tabular}}{{{spec}}}", r"\toprule"]
    if any(c.group for c in table.columns):
        spans, rules, start = [], [], 1
        for group, members in groupby(table.columns, key=lambda c: c.group):
            width = len(list(members))
            blank = " & ".join([""] * width)
            spans.append(f"\\multicolumn{{{width}}}{{c}}{{{latex_escape(group)}}}" if group else blank)
            if group:
                rules.append(f"\\cmidrule(lr){{{start}-{start + width - 1}}}")
            start += width
        lines.append(" & ".join(spans) + r" \\")
        lines.append(" ".join(rules))
    lines.append(" & ".join(latex_escape(c.name) for c in table.columns) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"\\par\\footnotesize {latex_escape(note)}" for note in table.notes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_table(table: Table, out_dir: Path, stem: str) -> list[Path]:
    """Write `<stem>.md`, `<stem>.csv` and `<stem>.tex` into `out_dir`; returns the three paths."""
    renderings = ((".md", to_markdown(table)), (".csv", to_csv(table)), (".tex", to_latex(table, label=f"tab:{stem}")))
    return [write_text_atomic(out_dir / f"{stem}{suffix}", text) for suffix, text in renderings]
