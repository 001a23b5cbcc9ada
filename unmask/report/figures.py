"""The report's figures: ROC curves per model x class set, and the mean-accuracy bar chart.

Drawn on matplotlib's Agg canvas through the object API (no pyplot state), so it runs headless and
never changes the backend of the process that imports it. Each figure is saved as PNG and PDF.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from unmask.fileio import write_bytes_atomic


def _save(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    FigureCanvasAgg(fig)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"]
    for path in paths:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=path.suffix[1:], dpi=150, bbox_inches="tight")
        write_bytes_atomic(path, buffer.getvalue())
    return paths


Curve = tuple[str, Sequence[float], Sequence[float], "float | None"]
"""(label, fpr, tpr, auc) of one ROC curve."""


def _roc_axes(ax, title: str, curves: Sequence[Curve]) -> None:
    for label, fpr, tpr, auc in curves:
        auc_text = "n/a" if auc is None else f"{auc:.3f}"
        ax.plot(fpr, tpr, linewidth=1.5, label=f"{label} (AUC = {auc_text})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="False positive rate", ylabel="True positive rate", title=title)
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)


def roc_figure(title: str, curves: Sequence[Curve], out_dir: Path, stem: str) -> list[Path]:
    """One ROC plot with a curve per (label, fpr, tpr, auc), the AUC in the legend."""
    fig = Figure(figsize=(4.8, 4.4))
    _roc_axes(fig.add_subplot(), title, curves)
    return _save(fig, out_dir, stem)


def roc_panels(title: str, panels: Sequence[tuple[str, Sequence[Curve]]], out_dir: Path, stem: str) -> list[Path]:
    """The papers' ROC layout: one panel per (panel title, curves), side by side, e.g. one panel per
    attack with a curve per class set."""
    fig = Figure(figsize=(4.2 * len(panels), 4.4))
    for index, (panel_title, curves) in enumerate(panels, start=1):
        _roc_axes(fig.add_subplot(1, len(panels), index), panel_title, curves)
    fig.suptitle(title)
    return _save(fig, out_dir, stem)


def accuracy_bars(title: str, groups: Sequence[str], series: dict[str, Sequence[float | None]],
                  out_dir: Path, stem: str) -> list[Path]:
    """Grouped bars: one group per class set, one bar per series (None / AT / UM), values in percent."""
    fig = Figure(figsize=(1.6 + 1.3 * len(groups), 3.8))
    ax = fig.add_subplot()
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [0.0 if v is None else v for v in values]
        bars = ax.bar(xs, heights, width=width, label=name)
        ax.bar_label(bars, labels=["n/a" if v is None else f"{v:.1f}" for v in values], fontsize="x-small")
    ax.set_xticks(range(len(groups)), groups)
    ax.set(ylim=(0, 105), ylabel="Accuracy (%)", title=title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=max(len(series), 1), fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out_dir, stem)


def line_figure(title: str, x_label: str, y_label: str, series: dict[str, tuple[Sequence[float], Sequence[float]]],
                out_dir: Path, stem: str, y_limits: tuple[float, float] = (0.0, 1.02)) -> list[Path]:
    """One plot with a marked line per named (xs, ys) series, e.g. the VAE detector's white-box success
    ratio over eps, one line per adaptive attack."""
    fig = Figure(figsize=(4.8, 4.0))
    ax = fig.add_subplot()
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", linewidth=1.5, label=label)
    ax.set(ylim=y_limits, xlabel=x_label, ylabel=y_label, title=title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return _save(fig, out_dir, stem)
