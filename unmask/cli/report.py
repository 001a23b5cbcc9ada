"""`unmask report RUN_DIR [--compare-paper] [--paper PAPER] [--out DIR] [--check-expected FILE]
[--write-expected FILE]`: the paper tables and figures of a run, and its check against recorded figures."""
from __future__ import annotations

import argparse
from pathlib import Path

from unmask.paper_numbers import PAPERS as PUBLISHED_PAPERS


def _report(args: argparse.Namespace) -> int:
    """Write the report of a run and name its files."""
    from unmask.report import write_report  # matplotlib loads only when a report is asked for

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    if args.check_expected or args.write_expected:
        return _expected(run_dir, args)
    from unmask.report.vae import is_vae_run, rewrite_vae_report

    if is_vae_run(run_dir):  # experiment: vae, with V's numbers on --compare-paper (or when its paper is vae2019)
        written = rewrite_vae_report(run_dir, args.out, True if args.compare_paper else None)
    else:
        written = write_report(run_dir, out_dir=args.out, compare_paper=args.compare_paper or args.paper is not None,
                               paper=args.paper)
    index = written[-1]
    print(f"report of {run_dir}: {len(written)} files in {index.parent}")
    for path in written:
        print(f"  {path}")
    print(f"index: {index}")
    return 0


def _expected(run_dir: Path, args: argparse.Namespace) -> int:
    """--write-expected / --check-expected: exit 1 when the run differs from the recorded figures."""
    from unmask.report.expected import check_expected, write_expected
    from unmask.results import load_results, load_run_info

    cells = load_results(run_dir)
    if args.write_expected:
        path = write_expected(args.write_expected, cells, load_run_info(run_dir)["preset"], args.tolerance or 0.0)
        print(f"wrote the figures of {len(cells)} cells of {run_dir} to {path}")
        return 0
    differences = check_expected(cells, args.check_expected, args.tolerance)
    if differences:
        print(f"{run_dir} differs from {args.check_expected} in {len(differences)} figures:")
        print("\n".join(f"  {line}" for line in differences))
        return 1
    print(f"{run_dir} matches {args.check_expected}: {len(cells)} cells")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `unmask report`."""
    p = subparsers.add_parser("report", help="paper tables (Markdown, CSV, LaTeX) and figures (PNG, PDF) of a run")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory holding results.json or cells/")
    p.add_argument("--compare-paper", action="store_true",
                   help="put the published number and the difference (ours - paper) beside each of ours")
    p.add_argument("--paper", choices=PUBLISHED_PAPERS,
                   help="paper to compare with (implies --compare-paper; default: the run's paper, else each "
                        "table's own layout paper)")
    p.add_argument("--out", type=Path, help="output folder (default: RUN_DIR/report)")
    expected = p.add_mutually_exclusive_group()
    expected.add_argument("--check-expected", type=Path, metavar="FILE",
                          help="instead of a report: compare the run's accuracies and AUCs with FILE (exit 1 when "
                               "any differs), e.g. experiments/demo_expected.json")
    expected.add_argument("--write-expected", type=Path, metavar="FILE", help="record the run's figures in FILE")
    p.add_argument("--tolerance", type=float,
                   help="absolute difference allowed (default: the file's; 0 when writing)")
    p.set_defaults(func=_report)
