"""Every number the two UnMask papers and the thesis built on them publish for their experiments, as data.

The tables are typed below exactly as printed (KDD Table 6 and the thesis' tables in percent, BigData
Table 3 as fractions, "None/AT/UM" per cell) and parsed once at import into `PUBLISHED`: `PaperKey -> float`, with every
accuracy, rate and AUC as a fraction in [0, 1] so it compares directly with a `CellResult`.

Metrics of a key:
  acc_none, acc_at, acc_um   accuracy of M without defense, of adversarially trained M, of UnMask
                             (the papers score UnMask by always rectifying: the `unmask` defense)
  auc                        detection ROC AUC
  tpr_at_fpr_0.1, fpr_at_fpr_0.1   the papers' representative ROC operating point (FPR ~ 10%)
  n_defense_images           successfully attacked images behind KDD's defense figures (KDD Table 4)
  n_detection_images         adversarial + benign images behind the detection figures (BigData
                             Table 2; the paper names no model, so these keys have model None)
  mean_um_minus_at, mean_um_minus_none   BigData headline (Fig. 2): UnMask's mean accuracy gain over
                             AT and over no defense across all attacked cells (fractions, 0.3118 = 31.18 points)
  n_images_train, n_images_val, n_images_test   images per split of M's data for a class set (KDD
                             Table 3: PASCAL VOC 2010; BigData Table 1: VOC 2010 + ImageNet train/val,
                             Flickr test); with class set None, K's (PASCAL-Part, both tables)
  k_map                      K's mAP on the PASCAL-Part test split, 0.56 (KDD'19 Sec. 3.1.4, BigData'20
                             Sec. 4.1 "Training ... Model K"; neither says which COCO AP it is)
  acc_none_mean, acc_um_mean  thesis: M's (no defense) and UnMask's accuracy averaged over the attacks
                             of a row (Table 7's "no defense" column; with class set None, over every
                             class set as the thesis quotes them: 18.33, 87.01 vs 80.48)
  acc_um_mean_pgd, acc_um_mean_mim   thesis Table 5: UnMask's mean over the PGD / MI-FGSM columns of Table 4

The thesis (Xiong 2021, ``thesis2021``): Table 7 compares "Ours" (model ``resnet101_fd``) with the
"Baseline" (``densenet121``) per class set. Tables 4-5 sweep M on the "small crafted dataset" (no class
set: class set None), one model name per row of the thesis (``densenet121_sgd`` ... ``resnet152_adam``,
the model names of experiments/thesis2021_tables45.yaml). Table 6 is CIFAR-10 (class set ``CIFAR10``):
natural training (acc_none, no attack), adversarial training on benign (acc_at, no attack) and
PGD-Linf eps 10 (acc_at) images, for ``resnet101`` and ``resnet101_fd1``.
"""
from __future__ import annotations

from typing import NamedTuple

from unmask import registry

KDD2019 = "kdd2019"
BIGDATA2020 = "bigdata2020"
THESIS2021 = "thesis2021"
PAPERS: tuple[str, ...] = tuple(name for name, info in registry.PAPERS.items() if info.published)
"""The papers with published numbers (the registry's, in its order: KDD'19, BigData'20)."""
THESIS_SWEEP: tuple[str, ...] = ("densenet121_sgd", "resnet50_sgd", "resnet101_sgd", "resnet152_sgd", "resnet101_adam",
                                  "resnet152_adam")
"""The rows of thesis Table 4 (architecture and optimiser), as model names."""
PAPER_MODELS: dict[str, tuple[str, ...]] = {
    KDD2019: ("vgg16", "resnet50"), BIGDATA2020: ("resnet50", "densenet121"),
    THESIS2021: ("resnet101_fd", "densenet121", *THESIS_SWEEP, "resnet101", "resnet101_fd1")}
"""The models M each paper evaluates."""

UM_METRIC = "acc_um"
OPERATING_POINT = "0.1"
"""The target FPR of the papers' representative operating point, as a `results.fpr_key`."""


class PaperKey(NamedTuple):
    """Where a published number sits: paper, model, class set, attack, eps (0-255 units), metric."""

    paper: str
    model: str | None
    class_set: str | None
    attack: str | None
    eps: float | None
    metric: str


# KDD'19 Table 6 (accuracy in %): No Attk, then No Def / UnMask for DF, FGSM 8, FGSM 16, PGD 8, PGD 16.
# ResNet50 CS5a repeats VGG16 CS5a digit for digit in the paper; kept as published.
_KDD_TABLE6_COLUMNS = (("deepfool_l2", None), ("fgsm", 8.0), ("fgsm", 16.0), ("pgd_linf", 8.0), ("pgd_linf", 16.0))
_KDD_TABLE6 = """
vgg16    CS3a 87.00 5.13 94.33 0 84.53 0 73.44 0 92.24 0 89.89
vgg16    CS3b 89.13 3.47 85.62 0 71.64 0 60.11 0 79.49 0 75.19
vgg16    CS5a 80.35 3.91 91.11 0 79.12 0 65.86 0 86.05 0 82.65
vgg16    CS5b 81.36 3.04 87.17 0 74.93 0 62.88 0 81.75 0 77.02
resnet50 CS3a 86.64 4.51 95.04 0 87.11 0 74.42 0 92.9  0 90.81
resnet50 CS3b 85.75 3.28 86.12 0 76.07 0 66.71 0 82.51 0 78.55
resnet50 CS5a 80.35 3.91 91.11 0 79.12 0 65.86 0 86.05 0 82.65
resnet50 CS5b 79.91 3.33 87.57 0 76.91 0 65.19 0 83.39 0 80.01
"""

# KDD'19 detection, CS3a on VGG16: AUC per attack; PGD eps 8 operating point 92.67% TPR at 9.67% FPR.
_KDD_AUC = {("deepfool_l2", None): 0.952, ("fgsm", 8.0): 0.96, ("fgsm", 16.0): 0.959,
            ("pgd_linf", 8.0): 0.951, ("pgd_linf", 16.0): 0.949}
_KDD_OPERATING_POINT = ("vgg16", "CS3a", "pgd_linf", 8.0, 0.9267, 0.0967)

# KDD'19 Table 4: ImageNet images behind the defense figures, i.e. those the attack perturbed
# successfully (FGSM and PGD at eps 16; "the numbers for eps 8 are similar"), no model named.
_KDD_TABLE4_COLUMNS = (("deepfool_l2", None), ("fgsm", 16.0), ("pgd_linf", 16.0))
_KDD_TABLE4 = """
CS3a 3,485 2,823 3,494
CS3b 4,749 4,161 4,764
CS5a 5,827 5,252 5,849
CS5b 6,728 5,883 6,747
"""

# BigData'20 Table 3 (accuracy as a fraction, None/AT/UM per cell).
_BIGDATA_TABLE3_COLUMNS = (("none", None), ("pgd_linf", 8.0), ("pgd_linf", 16.0), ("pgd_l2", 300.0), ("pgd_l2", 600.0),
                           ("mim_linf", 8.0), ("mim_linf", 16.0), ("mim_l2", 300.0), ("mim_l2", 600.0))
_BIGDATA_TABLE3 = """
resnet50    CS3a .98/.96/.94 .31/.71/.85 .22/.50/.72 .07/.86/.92 .00/.67/.91 .00/.22/.82 .00/.00/.68 .01/.86/.92 .00/.68/.91
resnet50    CS3b .97/.94/.92 .24/.63/.82 .19/.47/.68 .01/.75/.89 .00/.31/.85 .00/.02/.77 .00/.00/.63 .00/.68/.89 .00/.29/.85
resnet50    CS5a .97/.92/.93 .17/.51/.82 .15/.24/.66 .00/.79/.91 .00/.57/.89 .00/.25/.79 .00/.02/.63 .00/.79/.91 .00/.58/.89
resnet50    CS5b .97/.92/.91 .22/.56/.78 .17/.34/.61 .04/.78/.88 .00/.50/.84 .00/.12/.73 .00/.01/.55 .01/.77/.87 .00/.51/.84
densenet121 CS3a .97/.95/.94 .31/.70/.86 .24/.48/.74 .02/.86/.93 .00/.71/.91 .00/.37/.83 .00/.02/.69 .00/.86/.92 .00/.72/.90
densenet121 CS3b .97/.93/.92 .25/.60/.82 .23/.44/.67 .02/.79/.89 .00/.46/.85 .00/.18/.76 .00/.01/.62 .00/.78/.89 .00/.49/.85
densenet121 CS5a .97/.90/.93 .22/.51/.82 .18/.27/.66 .03/.77/.91 .00/.54/.88 .00/.27/.78 .00/.02/.58 .00/.77/.91 .00/.56/.87
densenet121 CS5b .97/.92/.91 .24/.55/.79 .21/.28/.62 .02/.81/.89 .00/.58/.85 .00/.30/.75 .00/.03/.58 .00/.80/.89 .00/.60/.84
"""

# BigData'20 detection, CS3a on DenseNet121; MIA-L2 300 operating point 96.75% TPR at 9.66% FPR.
_BIGDATA_AUC = {("pgd_linf", 8.0): 0.95, ("pgd_linf", 16.0): 0.958, ("pgd_l2", 300.0): 0.968, ("pgd_l2", 600.0): 0.967,
                ("mim_linf", 8.0): 0.962, ("mim_linf", 16.0): 0.961, ("mim_l2", 300.0): 0.969, ("mim_l2", 600.0): 0.967}
_BIGDATA_OPERATING_POINT = ("densenet121", "CS3a", "mim_l2", 300.0, 0.9675, 0.0966)

# BigData'20 Table 2: images behind the detection figures (eps 16 for Linf, 600 for L2), no model named.
_BIGDATA_TABLE2_COLUMNS = (("pgd_linf", 16.0), ("pgd_l2", 600.0), ("mim_linf", 16.0), ("mim_l2", 600.0))
_BIGDATA_TABLE2 = """
CS3a 3,648 4,702 4,702 4,702
CS3b 4,652 5,732 5,734 5,734
CS5a 5,412 6,358 6,358 6,358
CS5b 6,822 8,256 8,258 8,258
"""

# Images per split (train, val, test): K on PASCAL-Part (row K), M per class set. KDD'19 Table 3: M on
# PASCAL VOC 2010 (the original's 50/10/40 split); BigData'20 Table 1: M on VOC 2010 + ImageNet
# (train, val) and Flickr (test).
SPLIT_TABLES = {KDD2019: "KDD'19 Table 3", BIGDATA2020: "BigData'20 Table 1"}
_SPLIT_COUNTS = {KDD2019: """
K    7,457 930 936
CS3a 1,750 350 1,400
CS3b 2,104 421 1,684
CS5a 2,264 452 1,812
CS5b 2,501 500 2,001
""", BIGDATA2020: """
K    7,457 930 936
CS3a 7,780 1,099 2,351
CS3b 9,599 1,339 2,867
CS5a 11,639 1,477 3,179
CS5b 13,011 1,928 4,129
"""}
SPLIT_NAMES = ("train", "val", "test")
K_ROW = "K"
"""The row of K's PASCAL-Part split in the split tables (class set None in PUBLISHED)."""

K_MAP = 0.56
"""K's published mAP on the PASCAL-Part test split (both papers)."""

# BigData'20 Fig. 2 headline, in accuracy points.
_BIGDATA_HEADLINE = {"mean_um_minus_at": 31.18, "mean_um_minus_none": 74.44}


# Thesis (Xiong 2021) Table 7, UnMask accuracy (%): "Ours" = ResNet101 + 4 FD blocks (resnet101_fd),
# "Baseline" = DenseNet121; M's no-defense accuracy averaged over the 8 attacks, then the attacks in the
# thesis' column order. The header prints eps 8/16 for the L2 columns: they are 300/600 (Table 4 and the
# thesis code use 300/600, and the baseline cells equal BigData's L2 300/600 cells).
_THESIS_TABLE7_COLUMNS = (("pgd_linf", 8.0), ("pgd_l2", 300.0), ("mim_linf", 8.0), ("mim_l2", 300.0),
                          ("pgd_linf", 16.0), ("pgd_l2", 600.0), ("mim_linf", 16.0), ("mim_l2", 600.0))
_THESIS_TABLE7 = """
resnet101_fd CS5b 11.50 83.97 90.80 83.60 90.26 72.66 90.14 72.61 89.61
resnet101_fd CS5a 10.77 87.95 92.70 88.68 92.04 78.14 92.42 79.18 91.26
resnet101_fd CS3b 29.89 85.42 90.97 85.11 90.51 72.86 90.97 72.62 90.34
resnet101_fd CS3a 21.16 91.37 93.87 92.09 93.45 85.71 94.13 85.28 93.41
densenet121  CS5b 5.84 78.54 88.71 74.84 88.50 62.02 85.08 57.57 84.48
densenet121  CS5a 5.43 81.88 91.16 77.70 90.63 65.65 88.49 58.45 87.20
densenet121  CS3b 6.30 81.55 89.29 75.65 88.98 67.39 85.07 62.19 84.97
densenet121  CS3a 7.23 85.88 92.94 83.54 92.39 73.84 91.15 69.29 90.09
"""
# The averages the thesis quotes over Table 7 (%): M without defense (Ours only), UnMask over all
# 32 cells, and UnMask under MI-FGSM Linf eps 16 (abstract: 61.88 -> 77.42).
_THESIS_TABLE7_MEANS = {("resnet101_fd", None, None, "acc_none_mean"): 18.33,
                        ("resnet101_fd", None, None, "acc_um_mean"): 87.01,
                        ("densenet121", None, None, "acc_um_mean"): 80.48,
                        ("resnet101_fd", "mim_linf", 16.0, UM_METRIC): 77.42,
                        ("densenet121", "mim_linf", 16.0, UM_METRIC): 61.88}

# Thesis Table 4, UnMask accuracy (%) on the small crafted dataset, in its column order (L-inf 8, L2 300,
# L-inf 16, L2 600 per family); Table 5: its means over the PGD columns, the MI-FGSM columns and all.
_THESIS_TABLE4_COLUMNS = (("pgd_linf", 8.0), ("pgd_l2", 300.0), ("pgd_linf", 16.0), ("pgd_l2", 600.0),
                          ("mim_linf", 8.0), ("mim_l2", 300.0), ("mim_linf", 16.0), ("mim_l2", 600.0))
_THESIS_TABLE4 = """
densenet121_sgd 78.40 88.40 68.00 82.00 74.40 86.00 61.60 82.00
resnet50_sgd    80.80 85.20 70.00 84.00 77.60 86.40 62.80 86.40
resnet101_sgd   81.60 87.20 70.00 88.40 77.20 89.20 67.60 84.80
resnet152_sgd   80.00 86.80 67.20 84.80 74.00 86.80 62.00 84.40
resnet101_adam  78.80 87.60 68.00 85.20 76.40 88.80 52.00 81.60
resnet152_adam  78.80 88.40 72.00 84.80 74.40 86.40 62.40 81.60
"""
_THESIS_TABLE5_METRICS = ("acc_um_mean_pgd", "acc_um_mean_mim", "acc_um_mean")
_THESIS_TABLE5 = """
densenet121_sgd 79.2 76.0 77.6
resnet50_sgd    80.0 78.3 79.2
resnet101_sgd   81.8 79.7 80.8
resnet152_sgd   79.7 76.8 78.3
resnet101_adam  79.9 74.7 77.3
resnet152_adam  81.0 76.2 78.6
"""

# Thesis Table 6, CIFAR-10 top-1 (%): natural training on benign test images; adversarial training
# (PGD-Linf eps 10) on benign and on adversarial test images.
CIFAR10 = "CIFAR10"
"""The class-set name of the CIFAR-10 experiment (thesis Table 6)."""
_THESIS_TABLE6_ATTACK = ("pgd_linf", 10.0)
_THESIS_TABLE6 = """
resnet101     95.400 81.490 59.210
resnet101_fd1 95.510 83.120 70.100
"""


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def _parse() -> dict[PaperKey, float]:
    """All published numbers, keyed by PaperKey, accuracies and rates as fractions."""
    out: dict[PaperKey, float] = {}
    for model, cs, no_attack, *pairs in _rows(_KDD_TABLE6):
        out[PaperKey(KDD2019, model, cs, "none", None, "acc_none")] = float(no_attack) / 100
        for (attack, eps), no_def, unmask in zip(_KDD_TABLE6_COLUMNS, pairs[0::2], pairs[1::2]):
            out[PaperKey(KDD2019, model, cs, attack, eps, "acc_none")] = float(no_def) / 100
            out[PaperKey(KDD2019, model, cs, attack, eps, UM_METRIC)] = float(unmask) / 100
    for model, cs, *cells in _rows(_BIGDATA_TABLE3):
        for (attack, eps), cell in zip(_BIGDATA_TABLE3_COLUMNS, cells):
            for metric, value in zip(("acc_none", "acc_at", UM_METRIC), cell.split("/")):
                out[PaperKey(BIGDATA2020, model, cs, attack, eps, metric)] = float(value)
    for paper, aucs, point in ((KDD2019, _KDD_AUC, _KDD_OPERATING_POINT),
                               (BIGDATA2020, _BIGDATA_AUC, _BIGDATA_OPERATING_POINT)):
        model, cs, attack, eps, tpr, fpr = point
        for (auc_attack, auc_eps), auc in aucs.items():
            out[PaperKey(paper, model, cs, auc_attack, auc_eps, "auc")] = auc
        out[PaperKey(paper, model, cs, attack, eps, f"tpr_at_fpr_{OPERATING_POINT}")] = tpr
        out[PaperKey(paper, model, cs, attack, eps, f"fpr_at_fpr_{OPERATING_POINT}")] = fpr
    for cs, *counts in _rows(_KDD_TABLE4):
        for (attack, eps), count in zip(_KDD_TABLE4_COLUMNS, counts):
            out[PaperKey(KDD2019, None, cs, attack, eps, "n_defense_images")] = float(count.replace(",", ""))
    for cs, *counts in _rows(_BIGDATA_TABLE2):
        for (attack, eps), count in zip(_BIGDATA_TABLE2_COLUMNS, counts):
            out[PaperKey(BIGDATA2020, None, cs, attack, eps, "n_detection_images")] = float(count.replace(",", ""))
    for metric, points in _BIGDATA_HEADLINE.items():
        out[PaperKey(BIGDATA2020, None, None, None, None, metric)] = points / 100
    _parse_thesis(out)
    for paper, table in _SPLIT_COUNTS.items():
        for row, *counts in _rows(table):
            for split, count in zip(SPLIT_NAMES, counts):
                out[PaperKey(paper, None, None if row == K_ROW else row, None, None, f"n_images_{split}")] = \
                    float(count.replace(",", ""))
        out[PaperKey(paper, None, None, None, None, "k_map")] = K_MAP
    return out


def _parse_thesis(out: dict[PaperKey, float]) -> None:
    """The thesis' Tables 4-7 into ``out``, as fractions."""
    for model, cs, no_defense, *cells in _rows(_THESIS_TABLE7):
        out[PaperKey(THESIS2021, model, cs, None, None, "acc_none_mean")] = float(no_defense) / 100
        for (attack, eps), value in zip(_THESIS_TABLE7_COLUMNS, cells):
            out[PaperKey(THESIS2021, model, cs, attack, eps, UM_METRIC)] = float(value) / 100
    for (model, attack, eps, metric), value in _THESIS_TABLE7_MEANS.items():
        out[PaperKey(THESIS2021, model, None, attack, eps, metric)] = value / 100
    for model, *cells in _rows(_THESIS_TABLE4):
        for (attack, eps), value in zip(_THESIS_TABLE4_COLUMNS, cells):
            out[PaperKey(THESIS2021, model, None, attack, eps, UM_METRIC)] = float(value) / 100
    for model, *means in _rows(_THESIS_TABLE5):
        for metric, value in zip(_THESIS_TABLE5_METRICS, means):
            out[PaperKey(THESIS2021, model, None, None, None, metric)] = float(value) / 100
    for model, natural, at_benign, at_attacked in _rows(_THESIS_TABLE6):
        out[PaperKey(THESIS2021, model, CIFAR10, "none", None, "acc_none")] = float(natural) / 100
        out[PaperKey(THESIS2021, model, CIFAR10, "none", None, "acc_at")] = float(at_benign) / 100
        out[PaperKey(THESIS2021, model, CIFAR10, *_THESIS_TABLE6_ATTACK, "acc_at")] = float(at_attacked) / 100


PUBLISHED: dict[PaperKey, float] = _parse()


def published(paper: str, model: str | None, class_set: str | None, attack: str | None,
              eps: float | None, metric: str) -> float | None:
    """The published number for this cell and metric, or None when the paper has none.

    For one of the paper's own models, falls back to the model-less key (figures the paper gives per
    class set only, such as the detection image counts of BigData Table 2).
    """
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; known papers: {', '.join(PAPERS)}")
    eps = None if eps is None else float(eps)
    value = PUBLISHED.get(PaperKey(paper, model, class_set, attack, eps, metric))
    if value is None and model in PAPER_MODELS[paper]:
        value = PUBLISHED.get(PaperKey(paper, None, class_set, attack, eps, metric))
    return value


def published_metrics(paper: str) -> frozenset[str]:
    """Every metric the paper publishes at least one number for (acc_none, acc_at, auc, ...)."""
    return frozenset(key.metric for key in PUBLISHED if key.paper == paper)


def split_counts(paper: str) -> dict[str, dict[str, int]]:
    """The paper's images per split ({"train", "val", "test"}: n): row ``K_ROW`` for K, one row per class set for M."""
    rows: dict[str, dict[str, int]] = {}
    for key, value in PUBLISHED.items():
        if key.paper == paper and key.metric.startswith("n_images_"):
            rows.setdefault(key.class_set or K_ROW, {})[key.metric.removeprefix("n_images_")] = int(value)
    return rows


def split_count_table(ours: dict[str, dict[str, dict[str, int]]]) -> str:
    """Our images per split (a column per key of ``ours``: row -> {split: n}, rows K and class sets) beside
    both papers' split tables, as text: what the data stage prints."""
    columns = {**ours, **{SPLIT_TABLES[paper]: split_counts(paper) for paper in SPLIT_TABLES}}
    rows = [K_ROW] + sorted({row for table in columns.values() for row in table} - {K_ROW})
    cells = [["images (train / val / test)", *columns]]
    for row in rows:
        cells.append([row] + [" / ".join(f"{table[row][s]:,}" for s in SPLIT_NAMES) if row in table else "-"
                              for table in columns.values()])
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells)


# Vaishnavi et al. 2020, "Can Attention Masks Improve Adversarial Robustness?", Table 4: accuracy (%) of
# VGG-19 trained on X (whole images) or X_FG (foreground only, background 0), naturally (N: metric
# acc_none) or adversarially (A: acc_at), on benign test images (attack "none") and under PGD-Linf
# eps 8/255, 10 steps of 2/255 (class set = the dataset). The X_FG models and their adversary see the
# foreground only, through the datasets' given masks (an oracle). The conclusion's "21.8%" and "1.7%"
# contradict the table (22.82 and 9.32 points); the table is kept.
VAISHNAVI2020 = "vaishnavi2020"
COCO_IC = "MS-COCO-IC"
GTSRB_IC = "GTSRB-IC"
FOREGROUND_DATASETS: tuple[str, ...] = (COCO_IC, GTSRB_IC)
FOREGROUND_ROWS: tuple[tuple[str, str], ...] = (("X", "N"), ("X_FG", "N"), ("X", "A"), ("X_FG", "A"))
"""Table 4's rows: (data the model is trained and scored on, training N or A)."""
FOREGROUND_ATTACK = ("pgd_linf", 8.0)
PAPER_MODELS[VAISHNAVI2020] = ("X", "X_FG")
_VAISHNAVI_TABLE4 = """
X    N 79.46  2.28 98.04 18.69
X_FG N 81.64  3.01 98.04 38.38
X    A 61.51 30.80 89.54 55.25
X_FG A 72.92 53.62 91.20 64.57
"""


def _parse_vaishnavi() -> dict[PaperKey, float]:
    """Vaishnavi et al.'s Table 4 as PaperKeys (model X / X_FG, class set the dataset), fractions."""
    out = {}
    for data, training, *cells in _rows(_VAISHNAVI_TABLE4):
        metric = "acc_none" if training == "N" else "acc_at"
        for dataset, natural, attacked in zip(FOREGROUND_DATASETS, cells[0::2], cells[1::2]):
            out[PaperKey(VAISHNAVI2020, data, dataset, "none", None, metric)] = float(natural) / 100
            out[PaperKey(VAISHNAVI2020, data, dataset, *FOREGROUND_ATTACK, metric)] = float(attacked) / 100
    return out


PUBLISHED.update(_parse_vaishnavi())
# ------------------------------------------------------------------------------------------------------------
# Joe, Hwang & Shin, "Learning to Disentangle Robust and Vulnerable Features for Adversarial Detection" (the VAE
# detector, experiment: vae presets; facts sheet section 3.5). Kept apart from PUBLISHED: its tables are not
# UnMask cells. Keys: (dataset, column); a column is the attack the detector was trained with (mim_w, cw_l2_w)
# or "no_defense". V Table 3 cells are (ours, Gong et al.), rows the black-box attack; the orientation and
# Table 4's last distortion (37.66, derived from the prose) are the facts sheet's reading, marked (?) there.
VAE2019 = "vae2019"
VAE_BENIGN_ACCURACY = {  # V Table 2
    ("mnist", "mim_w"): 0.97, ("mnist", "cw_l2_w"): 0.98, ("mnist", "no_defense"): 0.99,
    ("fmnist5", "mim_w"): 0.98, ("fmnist5", "cw_l2_w"): 0.98, ("fmnist5", "no_defense"): 0.99,
    ("catdog", "mim_w"): 0.96, ("catdog", "cw_l2_w"): 0.96, ("catdog", "no_defense"): 0.99,
}
VAE_BLACK_BOX_AUC = {  # V Table 3: (dataset, trained with) -> black-box attack -> (ours, Gong et al.)
    ("mnist", "mim_w"): {"fgsm": (0.99, 0.99), "pgd_linf": (0.99, 0.96), "mim_linf": (0.99, 0.90), "cw_l2": (0.97, 0.64)},
    ("mnist", "cw_l2_w"): {"fgsm": (0.98, 0.99), "pgd_linf": (0.99, 0.99), "mim_linf": (0.99, 0.98), "cw_l2": (0.97, 0.96)},
    ("fmnist5", "mim_w"): {"fgsm": (0.98, 0.99), "pgd_linf": (0.97, 0.79), "mim_linf": (0.98, 0.92), "cw_l2": (0.96, 0.64)},
    ("fmnist5", "cw_l2_w"): {"fgsm": (0.99, 0.97), "pgd_linf": (0.99, 0.96), "mim_linf": (0.99, 0.97), "cw_l2": (0.97, 0.95)},
}
VAE_CW_WHITE_BOX = {  # V Table 4: (dataset, trained with) -> (success ratio, mean L2 distortion ||delta||_2/sqrt(d), 0-255)
    ("mnist", "mim_w"): (0.32, 45.08), ("mnist", "cw_l2_w"): (0.28, 48.25),
    ("fmnist5", "mim_w"): (0.18, 43.34), ("fmnist5", "cw_l2_w"): (0.19, 37.66),
}
