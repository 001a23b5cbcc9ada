"""`unmask report RUN_DIR [--compare-paper] [--paper PAPER] [--out DIR]`: the paper tables and figures of a run."""
from __future__ import annotations

import argparse
from pathlib import Path

from unmask.registry import PAPERS


def _report(args: argparse.Namespace) -> int:
    """Write the report of a run and name its files."""
    from unmask.report import write_report  # matplotlib loads only when a report is asked for

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    written = write_report(run_dir, out_dir=args.out, compare_paper=args.compare_paper or args.paper is not None,
                           paper=args.paper)
    index = written[-1]
    print(f"report of {run_dir}: {len(written)} files in {index.parent}")
    for path in written:
        print(f"  {path}")
    print(f"index: {index}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `unmask report`."""
    published = [name for name, info in PAPERS.items() if info.published]
    p = subparsers.add_parser("report", help="paper tables (Markdown, CSV, LaTeX) and figures (PNG, PDF) of a run")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory holding results.json or cells/")
    p.add_argument("--compare-paper", action="store_true",
                   help="put the published number and the difference (ours - paper) beside each of ours")
    p.add_argument("--paper", choices=published,
                   help="paper to compare with (implies --compare-paper; default: the run's paper, else each "
                        "table's own layout paper)")
    p.add_argument("--out", type=Path, help="output folder (default: RUN_DIR/report)")
    p.set_defaults(func=_report)
