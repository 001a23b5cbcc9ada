"""The thesis' Table 7 layout: M's mean accuracy without defense, UnMask per attack and its means in both
scoring modes, per set and over all sets, beside the thesis' numbers and the averages it quotes."""
from unmask.report import layouts
from unmask.report.text import headline_lines
from unmask.report.tables import to_markdown
from unmask.results import CellResult, run_defenses


def cell(model, cs, attack, eps, none, um, um_t=0.5):
    return CellResult(model=model, class_set=cs, attack=attack, eps=eps, n_images=100,
                      accuracy={"none": none, "unmask": um, "unmask_threshold": um_t})


CELLS = [
    cell("resnet101_fd", "CS3a", "none", None, 0.95, 0.9),
    cell("resnet101_fd", "CS3a", "pgd_linf", 8.0, 0.1, 0.9, um_t=0.6),
    cell("resnet101_fd", "CS3a", "mim_linf", 16.0, 0.2, 0.8, um_t=0.4),
    cell("resnet101_fd", "CS5b", "mim_linf", 16.0, 0.3, 0.7),
    cell("densenet121", "CS3a", "mim_linf", 16.0, 0.05, 0.6),
]


def rows_of(table):
    return {tuple(r[:3]): r[3:] for r in table.rows}


def test_thesis_table_means_per_set_and_over_all_sets():
    table = layouts.thesis_table(CELLS, run_defenses(CELLS))
    heads = [c.flat for c in table.columns]
    assert heads == ["Model", "Set", "None (mean)", "PGD-Linf 8: UM", "MIA-Linf 16: UM", "mean PGD: UM", "mean PGD: UM-t",
                     "mean MIA: UM", "mean MIA: UM-t", "mean all: UM", "mean all: UM-t"]
    rows = {tuple(r[:2]): r[2:] for r in table.rows}
    assert rows[("ResNet101-FD", "CS3a")] == ["15.00", "90.00", "80.00", "90.00", "60.00", "80.00", "40.00", "85.00", "50.00"]
    assert rows[("ResNet101-FD", "all_sets")][:3] == ["20.00", "90.00", "75.00"]  # MIA 16: (0.8 + 0.7) / 2
    assert rows[("DenseNet121", "CS3a")][1] == layouts.NOT_RUN
    assert layouts.ALWAYS_RECTIFY_NOTE in table.notes


def test_thesis_table_compares_with_table7_and_the_quoted_averages():
    comparer = layouts.Comparer(("thesis2021",))
    rows = rows_of(layouts.thesis_table(CELLS, run_defenses(CELLS), comparer))
    assert rows[("ResNet101-FD", "CS3a", "paper (thesis2021)")][:3] == ["21.16", "91.37", "85.28"]
    quoted = rows[("ResNet101-FD", "all_sets", "paper (thesis2021)")]
    assert (quoted[0], quoted[2], quoted[7]) == ("18.33", "77.42", "87.01")
    baseline = rows[("DenseNet121", "all_sets", "paper (thesis2021)")]
    assert (baseline[2], baseline[7]) == ("61.88", "80.48")
    assert rows[("ResNet101-FD", "all_sets", "ours - paper")][0] == "+1.67"
    found = {(r.cell.class_set, r.cell.attack, round(r.published, 4)) for r in comparer.records if r.published is not None}
    assert ("all_sets", "mean_all", 0.8701) in found


def test_the_modes_table_says_how_m_enters_always_rectify():
    assert layouts.ALWAYS_RECTIFY_NOTE in to_markdown(layouts.modes_table(CELLS, run_defenses(CELLS)))


def test_the_headline_quotes_the_thesis_averages():
    text = "\n".join(headline_lines(CELLS, {"thesis2021"}))
    assert "M without defense 18.33%" in text and "87.01% with ResNet101-FD against 80.48%" in text
    assert "61.88% -> 77.42%" in text
    assert "Thesis" not in "\n".join(headline_lines(CELLS, {"bigdata2020"}))
