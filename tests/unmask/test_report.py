"""The report on a small fabricated run: layouts, exact cells, orders, renderings, paper comparison, figures."""
import csv
import io

import pytest

from unmask import cli, report
from unmask.report import layouts
from unmask.report.tables import Column, Table, to_csv, to_latex, to_markdown
from unmask.results import CellResult, DetectionResult, ResultsError, run_defenses, write_cell, write_results


def detection(auc=0.9, tpr10=0.8, n=50):
    return DetectionResult(
        n_adversarial=n, n_benign=n, auc=auc, roc_fpr=[0.0, 0.1, 0.5, 1.0], roc_tpr=[0.0, tpr10, 0.95, 1.0],
        roc_thresholds=[float("inf"), 0.6, 0.3, 0.0], tpr_at_fpr={"0.05": 0.5, "0.1": tpr10},
        fpr_at_fpr={"0.05": 0.04, "0.1": 0.12}, threshold_at_fpr={"0.05": 0.75, "0.1": 0.6},
        roc_tpr_at_fpr={"0.05": 0.0, "0.1": tpr10}, roc_fpr_at_fpr={"0.05": 0.0, "0.1": 0.1})


def cell(model, cs, attack, eps, none, at, um, um_t=0.5, det=None, extra=None):
    accuracy = {"none": none, "unmask": um, "unmask_threshold": um_t, **(extra or {})}
    if at is not None:
        accuracy["adversarial_training"] = at
    det = det if attack == "none" else det or detection()
    attacked = attack != "none"  # KDD's protocol: UnMask scored on the successfully attacked images too
    return CellResult(model=model, class_set=cs, attack=attack, eps=eps, n_images=100, accuracy=accuracy,
                      detection={} if det is None else {"unmask": det},
                      thresholds={"unmask": 0.25, "unmask_threshold": 0.25},
                      n_success={"none": round(100 * (1 - none))} if attacked else {},
                      success_accuracy={"none": 0.0, "unmask": um + 0.01} if attacked else {})


# Deliberately out of the papers' order: the report must sort rows and columns itself.
CELLS = [
    cell("small_cnn", "CS3a", "pgd_linf", 16.0, 0.05, None, 0.6),
    cell("vgg16", "CS3b", "fgsm", 16.0, 0.02, None, 0.65),
    cell("vgg16", "CS3b", "none", None, 0.9, None, 0.85),
    cell("vgg16", "CS3a", "pgd_linf", 8.0, 0.0, 0.5, 0.9, det=detection(auc=0.93, tpr10=0.9)),
    cell("vgg16", "CS3a", "deepfool_l2", None, 0.04, None, 0.95),
    cell("vgg16", "CS3a", "none", None, 0.87, 0.8, 0.88),
    cell("vgg16", "CS3a", "fgsm", 16.0, 0.01, None, 0.7),
    cell("densenet121", "CS5b", "mim_l2", 600.0, 0.02, 0.5, 0.9),
    cell("densenet121", "CS3a", "pgd_linf", 16.0, 0.2, 0.5, 0.7, det=detection(auc=0.95, n=2000)),
    cell("small_cnn", "CS3a", "none", None, 0.99, None, 0.97, um_t=0.98),
]


DEFS = run_defenses(CELLS)


@pytest.fixture()
def run_dir(tmp_path):
    write_results(tmp_path, CELLS, preset="fabricated", paper="demo", defenses=[d["name"] for d in DEFS])
    return tmp_path


def rows_of(table):
    return {tuple(r[:3]): r for r in table.rows}


def test_kdd_layout_orders_and_cells():
    table = layouts.kdd_table(CELLS, DEFS)
    assert [c.flat for c in table.columns] == [
        "Model", "Set", "Overlap", "No Attk", "DF: No Def", "DF: UnMask", "FGSM 16: No Def", "FGSM 16: UnMask",
        "PGD-Linf 8: No Def", "PGD-Linf 8: UnMask", "PGD-Linf 16: No Def", "PGD-Linf 16: UnMask",
        "MIA-L2 600: No Def", "MIA-L2 600: UnMask"]
    assert [r[:2] for r in table.rows] == [["VGG16", "CS3a"], ["VGG16", "CS3b"], ["DenseNet121", "CS3a"],
                                           ["DenseNet121", "CS5b"], ["SmallCNN", "CS3a"]]
    assert table.rows[0] == ["VGG16", "CS3a", "6.90%", "87.00", "0.00", "96.00", "0.00", "71.00", "0.00", "91.00",
                             "n/a", "n/a", "n/a", "n/a"]
    assert table.rows[1][3:8] == ["90.00", "n/a", "n/a", "0.00", "66.00"]
    assert table.rows[3][2] == "29.41%" and table.rows[3][-2:] == ["0.00", "91.00"]
    counts = layouts.kdd_counts_table(CELLS, DEFS, layouts.Comparer(["kdd2019"]))
    vgg_3a = [r for r in counts.rows if r[:2] == ["VGG16", "CS3a"]]
    flat = [c.flat for c in counts.columns]
    assert [r[flat.index("FGSM 16")] for r in vgg_3a] == ["99", "2823", "-2724"]  # ours, KDD Table 4, difference


def test_bigdata_layout_shows_dash_for_missing_at():
    table = layouts.bigdata_table(CELLS, DEFS)
    flat = [c.flat for c in table.columns]
    assert flat[:5] == ["Model", "Set", "No attack: None", "No attack: AT", "No attack: UM"]
    assert flat[-3:] == ["MIA-L2 600: None", "MIA-L2 600: AT", "MIA-L2 600: UM"]
    vgg = table.rows[0]
    assert vgg[2:5] == ["0.87", "0.80", "0.88"]
    pgd8 = flat.index("PGD-Linf 8: AT")
    assert vgg[pgd8 - 1:pgd8 + 2] == ["0.00", "0.50", "0.90"]
    fgsm = flat.index("FGSM 16: AT")
    assert vgg[fgsm - 1:fgsm + 2] == ["0.01", "-", "0.70"]  # AT absent from the cell
    assert table.rows[-1][flat.index("PGD-Linf 16: None")] == "0.05"
    assert table.rows[-1][flat.index("DF: None")] == "n/a"  # cell not in the run


def test_detection_and_modes_tables():
    det = layouts.detection_table(CELLS, DEFS)
    flat = [c.flat for c in det.columns]
    assert flat == ["Defense", "Model", "Set", "Attack", "AUC", "FPR 5%: TPR", "FPR 5%: FPR", "FPR 5%: t",
                    "FPR 5%: ROC TPR", "FPR 5%: ROC FPR", "FPR 10%: TPR", "FPR 10%: FPR", "FPR 10%: t",
                    "FPR 10%: ROC TPR", "FPR 10%: ROC FPR", "Images: Adversarial", "Images: Benign", "Images: Total"]
    assert {r[0] for r in det.rows} == {"UnMask"}  # the threshold mode's identical figures stay out
    assert [r[1:4] for r in det.rows][:4] == [["VGG16", "CS3a", "DF"], ["VGG16", "CS3a", "FGSM 16"],
                                              ["VGG16", "CS3a", "PGD-Linf 8"], ["VGG16", "CS3b", "FGSM 16"]]
    assert det.rows[2][4:] == ["0.930", "0.500", "0.040", "0.750", "0.000", "0.000", "0.900", "0.120", "0.600",
                               "0.900", "0.100", "50", "50", "100"]
    modes = layouts.modes_table(CELLS, DEFS)
    assert [c.flat for c in modes.columns][:6] == ["Model", "Set", "t", "No attack: UnMask",
                                                   "No attack: UnMask (threshold)", "DF: UnMask"]
    small = modes.rows[-1]
    assert small[:5] == ["SmallCNN", "CS3a", "0.250", "97.00", "98.00"]


def test_overlap_table_and_agreement():
    table = layouts.overlap_table(CELLS)  # SmallCNN's cells count too: means over every model
    assert table.rows == [["CS3a", "6.90%", "0.916", "77.00", "5"], ["CS5b", "29.41%", "0.900", "90.00", "1"],
                          ["CS3b", "50.00%", "0.900", "65.00", "1"]]
    # AUC: 3a > 5b, 3a > 3b, but 5b == 3b (a tie does not agree); UnMask: 3a < 5b breaks one pair
    assert layouts.overlap_agreement(CELLS) == {"AUC": (2, 3), "UnMask accuracy": (2, 3)}


def parse_latex_rows(text):
    body = text.split("\\midrule\n")[1].split("\\bottomrule")[0]
    return [[cell.replace("\\%", "%").replace("\\_", "_") for cell in line.removesuffix(" \\\\").split(" & ")]
            for line in body.strip().splitlines()]


def test_renderings_parse_back():
    for table in (layouts.kdd_table(CELLS, DEFS), layouts.bigdata_table(CELLS, DEFS), layouts.detection_table(CELLS, DEFS)):
        parsed = list(csv.reader(io.StringIO(to_csv(table))))
        assert parsed[0] == [c.flat for c in table.columns] and parsed[1:] == table.rows
        assert parse_latex_rows(to_latex(table)) == table.rows
        md_rows = [line for line in to_markdown(table).splitlines() if line.startswith("| ")]
        assert [[v.strip() for v in line.strip("|").split("|")] for line in md_rows[1:]] == table.rows
    tex = to_latex(layouts.kdd_table(CELLS, DEFS))
    assert "\\multicolumn{2}{c}{DF}" in tex and "\\cmidrule(lr){5-6}" in tex


def test_latex_escaping_and_row_checks():
    table = Table("50% & more_of {it}", [Column("a_b", align="l"), Column("c")], [["x#1", "$5"]])
    tex = to_latex(table)
    assert "50\\% \\& more\\_of \\{it\\}" in tex and "x\\#1 & \\$5 \\\\" in tex
    with pytest.raises(ValueError, match="3 cells for 2 columns"):
        table.add(["1", "2", "3"])


def test_compare_paper_differences_equal_hand_computed():
    kdd = layouts.kdd_table(CELLS, DEFS, layouts.Comparer(["kdd2019"]))
    rows = [r for r in kdd.rows if r[1] == "CS3b"]
    flat = [c.flat for c in kdd.columns]
    assert [r[3] for r in rows] == ["ours", "paper (kdd2019)", "ours - paper"]
    col = flat.index("FGSM 16: UnMask")
    assert [r[col] for r in rows] == ["66.00", "60.11", "+5.89"]  # 66.00 - 60.11
    assert [r[flat.index("No Attk")] for r in rows] == ["90.00", "89.13", "+0.87"]
    assert [r[flat.index("DF: UnMask")] for r in rows] == ["n/a", "85.62", ""]  # not in our run
    assert not any(r[0] == "SmallCNN" and r[3] != "ours" for r in kdd.rows)  # nothing published for it

    comparer = layouts.Comparer(["bigdata2020"])
    big = layouts.bigdata_table(CELLS, DEFS, comparer)
    flat = [c.flat for c in big.columns]
    rows = [r for r in big.rows if r[:2] == ["DenseNet121", "CS5b"]]
    start = flat.index("MIA-L2 600: None")
    assert [r[start:start + 3] for r in rows] == [["0.02", "0.50", "0.90"], ["0.00", "0.60", "0.84"],
                                                  ["+0.02", "-0.10", "+0.06"]]
    record = next(r for r in comparer.records if r.cell.class_set == "CS5b" and r.column == "MIA-L2 600: AT")
    assert record.difference == pytest.approx(0.5 - 0.60) and record.paper == "bigdata2020"

    comparer = layouts.Comparer(["kdd2019", "bigdata2020"])
    det = layouts.detection_table(CELLS, DEFS, comparer)
    by = {(r.cell.model, r.cell.attack, r.cell.eps, r.column): r for r in comparer.records}
    assert by[("vgg16", "pgd_linf", 8.0, "AUC")].difference == pytest.approx(0.93 - 0.951)
    # the published operating point compares with ours read off the ROC, as the papers read theirs
    assert by[("vgg16", "pgd_linf", 8.0, "FPR 10%: ROC TPR")].difference == pytest.approx(0.9 - 0.9267)
    assert by[("vgg16", "pgd_linf", 8.0, "FPR 10%: ROC FPR")].difference == pytest.approx(0.1 - 0.0967)
    assert ("vgg16", "pgd_linf", 8.0, "FPR 10%: TPR") not in by
    assert by[("densenet121", "pgd_linf", 16.0, "Images: Total")].difference == pytest.approx(4000 - 3648)
    assert by[("densenet121", "pgd_linf", 16.0, "AUC")].difference == pytest.approx(0.95 - 0.958)
    assert by[("small_cnn", "pgd_linf", 16.0, "AUC")].published is None
    dense = [r for r in det.rows if r[1:4] == ["DenseNet121", "CS3a", "PGD-Linf 16"]]
    assert [r[5] for r in dense] == ["0.950", "0.958", "-0.008"] and [r[-1] for r in dense] == ["4000", "3648", "+352"]

    table = layouts.comparison_table(comparer.records)
    line = next(r for r in table.rows if r[1:5] == ["VGG16", "CS3a", "PGD-Linf 8", "AUC"])
    assert line[5:] == ["0.9300", "0.9510", "-0.0210", "kdd2019"]
    assert any(r[1] == "SmallCNN" and r[6] == "none published" for r in table.rows)


def test_write_report_files_and_index(run_dir):
    written = report.write_report(run_dir, compare_paper=True)
    out = run_dir / "report"
    names = {p.relative_to(out).as_posix() for p in written}
    tables = ("kdd2019_table6", "kdd2019_table4", "bigdata2020_table3", "detection", "unmask_modes",
              "thesis2021_table7", "overlap", "paper_comparison")
    for stem in tables:
        assert {f"tables/{stem}.md", f"tables/{stem}.csv", f"tables/{stem}.tex"} <= names
    figures = ["roc_unmask__vgg16__CS3a", "roc_unmask__vgg16__CS3b", "roc_unmask__densenet121__CS3a",
               "roc_unmask__densenet121__CS5b", "roc_unmask__small_cnn__CS3a", "roc_by_attack_unmask__vgg16",
               "roc_by_attack_unmask__densenet121", "roc_by_attack_unmask__small_cnn", "mean_accuracy"]
    for stem in figures:
        png, pdf = out / f"figures/{stem}.png", out / f"figures/{stem}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
    assert len(written) == len(tables) * 3 + len(figures) * 2 + 1
    index = (out / "report.md").read_text()
    assert "Preset: fabricated" in index and "figures/roc_unmask__vgg16__CS3a.png" in index
    assert "tables/paper_comparison.csv" in index
    assert "without any published counterpart (2)" in index and "- SmallCNN / CS3a / PGD-Linf 16" in index
    assert "BigData'20 (Fig. 2): UnMask - no defense +74.44 points" in index
    assert "- AUC: 2 of 3 pairs agree: not reproduced in this run" in index


def test_paper_choice_and_errors(run_dir, tmp_path):
    comparer = layouts.Comparer(report.comparison_papers("kdd2019", "demo", ("bigdata2020",)))
    big = layouts.bigdata_table(CELLS, DEFS, comparer)
    assert [r[2:6] for r in big.rows if r[:2] == ["VGG16", "CS3b"]][1] == ["paper (kdd2019)", "0.89", "n/a", "n/a"]
    assert report.comparison_papers(None, "bigdata2020", ("kdd2019",)) == ("bigdata2020",)
    assert report.comparison_papers(None, "demo", ("kdd2019",)) == ("kdd2019",)
    with pytest.raises(ValueError, match="unknown paper"):
        report.write_report(run_dir, paper="nips")
    (tmp_path / "empty" / "cells").mkdir(parents=True)
    with pytest.raises(ResultsError, match="no finished cells"):
        report.write_report(tmp_path / "empty")


def test_report_command(tmp_path, capsys):
    for c in CELLS[:3]:
        write_cell(tmp_path / "run", c)  # an interrupted run: cells/ only, no results.json
    out = tmp_path / "elsewhere"
    assert cli.main(["report", str(tmp_path / "run"), "--paper", "kdd2019", "--out", str(out)]) == 0
    assert (out / "report.md").is_file() and (out / "tables" / "paper_comparison.csv").is_file()
    assert str(out / "report.md") in capsys.readouterr().out
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_roc_by_attack_has_a_panel_per_attack_and_a_curve_per_class_set(tmp_path, monkeypatch):
    drawn = {}

    def record(title, panels, out_dir, stem):
        drawn[stem] = [(panel, [curve[0] for curve in curves]) for panel, curves in panels]
        return []

    monkeypatch.setattr(layouts, "roc_panels", record)
    monkeypatch.setattr(layouts, "roc_figure", lambda *args: [])
    layouts.roc_figures(CELLS, DEFS, tmp_path)
    assert drawn["roc_by_attack_unmask__vgg16"] == [("DF", ["CS3a"]), ("FGSM 16", ["CS3a", "CS3b"]),
                                                    ("PGD-Linf 8", ["CS3a"])]
    assert drawn["roc_by_attack_unmask__densenet121"] == [("PGD-Linf 16", ["CS3a"]), ("MIA-L2 600", ["CS5b"])]


def test_a_defense_no_paper_has_gets_a_column_in_every_layout():
    cells = [cell(c.model, c.class_set, c.attack, c.eps, c.accuracy["none"], c.accuracy.get("adversarial_training"),
                  c.accuracy["unmask"], extra={"zz_new": 0.42}) for c in CELLS]
    defenses = run_defenses(cells)
    assert [d["name"] for d in defenses] == ["none", "adversarial_training", "unmask", "unmask_threshold", "zz_new"]
    kdd = [c.flat for c in layouts.kdd_table(cells, defenses).columns]
    assert kdd[3:7] == ["No Attk", "DF: No Def", "DF: UnMask", "DF: zz_new"]  # KDD had no AT: no AT column
    big = layouts.bigdata_table(cells, defenses)
    flat = [c.flat for c in big.columns]
    assert flat[2:6] == ["No attack: None", "No attack: AT", "No attack: UM", "No attack: zz_new"]
    assert big.rows[0][flat.index("PGD-Linf 8: zz_new")] == "0.42"
    sets, series = layouts.mean_accuracies(cells, defenses)
    assert list(series) == ["None", "AT", "UM", "zz_new"] and series["zz_new"][0] == pytest.approx(42.0)


def test_a_failed_report_leaves_the_previous_one_whole(run_dir, monkeypatch):
    report.write_report(run_dir)
    out = run_dir / "report"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken_figure(*args, **kwargs):
        raise OSError("figures/ is read-only")

    monkeypatch.setattr(layouts, "roc_figure", broken_figure)
    changed = [cell("vgg16", "CS3a", "pgd_linf", 8.0, 0.1, None, 0.1)]
    write_results(run_dir, changed, preset="changed", paper="demo", defenses=["none", "unmask"])
    with pytest.raises(OSError, match="read-only"):
        report.write_report(run_dir)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in run_dir.iterdir()) == ["report", "results.json"]  # no temporary folder left


def test_out_folder_that_is_not_a_report_is_refused(run_dir, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a report folder"):
        report.write_report(run_dir, out_dir=foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_expected_figures_round_trip_and_name_each_difference(run_dir, tmp_path, capsys):
    expected = tmp_path / "expected.json"
    assert cli.main(["report", str(run_dir), "--write-expected", str(expected)]) == 0
    assert cli.main(["report", str(run_dir), "--check-expected", str(expected)]) == 0
    assert "matches" in capsys.readouterr().out
    changed = [cell("vgg16", "CS3a", "pgd_linf", 8.0, 0.0, 0.5, 0.91, det=detection(auc=0.93, tpr10=0.9)),
               *[c for c in CELLS if c.key != "vgg16__CS3a__pgd_linf__8"][1:]]
    write_results(run_dir, changed, preset="fabricated", paper="demo", defenses=[d["name"] for d in DEFS])
    assert cli.main(["report", str(run_dir), "--check-expected", str(expected)]) == 1
    out = capsys.readouterr().out
    assert "vgg16__CS3a__pgd_linf__8 accuracy/unmask: 0.910000 (expected 0.900000, tolerance 0)" in out
    assert "small_cnn__CS3a__pgd_linf__16: missing from the run" in out
    assert cli.main(["report", str(run_dir), "--check-expected", str(expected), "--tolerance", "0.02"]) == 1
    assert "accuracy/unmask" not in capsys.readouterr().out  # within tolerance; the missing cell remains
