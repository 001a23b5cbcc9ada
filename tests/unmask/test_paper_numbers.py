"""The published numbers, spot-checked against the papers' tables (values typed again by hand from the papers)."""
import pytest

from unmask.paper_numbers import BIGDATA2020, KDD2019, PUBLISHED, published, split_count_table, split_counts


@pytest.mark.parametrize("paper, model, class_set, attack, eps, metric, value", [
    (KDD2019, "vgg16", "CS3b", "fgsm", 16, "acc_um", 0.6011),
    (KDD2019, "vgg16", "CS3b", "fgsm", 16, "acc_none", 0.0),
    (KDD2019, "vgg16", "CS3a", "none", None, "acc_none", 0.87),
    (KDD2019, "vgg16", "CS3a", "deepfool_l2", None, "acc_none", 0.0513),
    (KDD2019, "vgg16", "CS3a", "deepfool_l2", None, "acc_um", 0.9433),
    (KDD2019, "resnet50", "CS3a", "pgd_linf", 8, "acc_um", 0.929),
    (KDD2019, "resnet50", "CS5b", "pgd_linf", 16, "acc_um", 0.8001),
    (KDD2019, "resnet50", "CS3b", "fgsm", 8, "acc_um", 0.7607),
    (KDD2019, "vgg16", "CS3a", "deepfool_l2", None, "auc", 0.952),
    (KDD2019, "vgg16", "CS3a", "fgsm", 16, "auc", 0.959),
    (KDD2019, "vgg16", "CS3a", "pgd_linf", 16, "auc", 0.949),
    (KDD2019, "vgg16", "CS3a", "pgd_linf", 8, "tpr_at_fpr_0.1", 0.9267),
    (KDD2019, "vgg16", "CS3a", "pgd_linf", 8, "fpr_at_fpr_0.1", 0.0967),
    (BIGDATA2020, "densenet121", "CS5b", "mim_l2", 600, "acc_none", 0.0),
    (BIGDATA2020, "densenet121", "CS5b", "mim_l2", 600, "acc_at", 0.60),
    (BIGDATA2020, "densenet121", "CS5b", "mim_l2", 600, "acc_um", 0.84),
    (BIGDATA2020, "resnet50", "CS3a", "none", None, "acc_none", 0.98),
    (BIGDATA2020, "resnet50", "CS3b", "mim_linf", 8, "acc_um", 0.77),
    (BIGDATA2020, "resnet50", "CS5a", "mim_linf", 8, "acc_um", 0.79),
    (BIGDATA2020, "resnet50", "CS3a", "pgd_l2", 300, "acc_none", 0.07),
    (BIGDATA2020, "densenet121", "CS3a", "mim_linf", 8, "acc_at", 0.37),
    (BIGDATA2020, "densenet121", "CS5a", "pgd_linf", 16, "acc_at", 0.27),
    (BIGDATA2020, "densenet121", "CS3a", "pgd_linf", 8, "auc", 0.95),
    (BIGDATA2020, "densenet121", "CS3a", "mim_l2", 300, "auc", 0.969),
    (BIGDATA2020, "densenet121", "CS3a", "mim_l2", 300, "tpr_at_fpr_0.1", 0.9675),
    (BIGDATA2020, "densenet121", "CS3a", "mim_l2", 300, "fpr_at_fpr_0.1", 0.0966),
    (BIGDATA2020, None, "CS3a", "pgd_linf", 16, "n_detection_images", 3648),
    (BIGDATA2020, "resnet50", "CS3b", "mim_linf", 16, "n_detection_images", 5734),  # model-less fallback
    (BIGDATA2020, None, "CS5b", "pgd_l2", 600, "n_detection_images", 8256),
    (BIGDATA2020, None, None, None, None, "mean_um_minus_at", 0.3118),
    (BIGDATA2020, None, None, None, None, "mean_um_minus_none", 0.7444),
    (KDD2019, None, "CS3a", None, None, "n_images_train", 1750),  # KDD Table 3
    (KDD2019, None, "CS5b", None, None, "n_images_test", 2001),
    (KDD2019, None, None, None, None, "n_images_val", 930),  # K's PASCAL-Part split
    (BIGDATA2020, None, "CS3b", None, None, "n_images_val", 1339),  # BigData Table 1
    (BIGDATA2020, None, "CS5a", None, None, "n_images_train", 11639),
    (BIGDATA2020, None, None, None, None, "n_images_test", 936),
    (KDD2019, None, None, None, None, "k_map", 0.56),
    (BIGDATA2020, None, None, None, None, "k_map", 0.56),
])
def test_spot_checks(paper, model, class_set, attack, eps, metric, value):
    assert published(paper, model, class_set, attack, eps, metric) == pytest.approx(value, abs=1e-12)


def test_counts_and_absences():
    def count(paper, metric_prefix):
        return sum(k.paper == paper and k.metric.startswith(metric_prefix) for k in PUBLISHED)
    assert count(KDD2019, "acc_") == 8 * (1 + 2 * 5)  # Table 6: 8 rows, No Attk + 5 attacks x 2
    assert count(BIGDATA2020, "acc_") == 8 * 9 * 3  # Table 3: 8 rows, 9 columns x None/AT/UM
    assert count(KDD2019, "auc") == 5 and count(BIGDATA2020, "auc") == 8
    assert count(BIGDATA2020, "n_detection_images") == 16
    assert count(KDD2019, "n_images_") == count(BIGDATA2020, "n_images_") == 5 * 3  # K + 4 sets, 3 splits
    assert all(0.0 <= v <= 1.0 for k, v in PUBLISHED.items() if not k.metric.startswith("n_"))
    assert published(KDD2019, "densenet121", "CS3a", "pgd_linf", 8, "acc_um") is None
    assert published(BIGDATA2020, "resnet50", "CS3a", "pgd_l2", 300, "n_detection_images") is None  # eps 16/600 only
    assert published(BIGDATA2020, "small_cnn", "CS3a", "pgd_l2", 600, "n_detection_images") is None  # not its model
    assert published(KDD2019, "vgg16", "CS3a", "none", None, "acc_at") is None
    with pytest.raises(ValueError, match="unknown paper"):
        published("iclr2030", "vgg16", "CS3a", "none", None, "acc_none")


def test_bigdata_headline_matches_its_table_within_rounding():
    """The Fig. 2 averages come from Table 3's attacked cells (two-decimal rounding explains the gap)."""
    attacked = [k for k in PUBLISHED if k.paper == BIGDATA2020 and k.metric.startswith("acc_") and k.attack != "none"]

    def mean(metric):
        values = [PUBLISHED[k] for k in attacked if k.metric == metric]
        return sum(values) / len(values)
    assert mean("acc_um") - mean("acc_at") == pytest.approx(published(BIGDATA2020, None, None, None, None,
                                                                       "mean_um_minus_at"), abs=0.01)
    assert mean("acc_um") - mean("acc_none") == pytest.approx(published(BIGDATA2020, None, None, None, None,
                                                                         "mean_um_minus_none"), abs=0.01)


def test_split_tables_and_the_data_stage_comparison():
    kdd = {row: tuple(counts[s] for s in ("train", "val", "test")) for row, counts in split_counts(KDD2019).items()}
    assert kdd == {"K": (7457, 930, 936), "CS3a": (1750, 350, 1400), "CS3b": (2104, 421, 1684),
                   "CS5a": (2264, 452, 1812), "CS5b": (2501, 500, 2001)}
    assert split_counts(BIGDATA2020)["CS5b"] == {"train": 13011, "val": 1928, "test": 4129}
    text = split_count_table({"ours": {"K": {"train": 8, "val": 1, "test": 1}, "CS3a": {"test": 4, "train": 5, "val": 1}}})
    lines = text.splitlines()
    assert lines[0].split("  ")[0] == "images (train / val / test)" and "KDD'19 Table 3" in lines[0]
    assert lines[1].split() == ["K", "8", "/", "1", "/", "1", "7,457", "/", "930", "/", "936", "7,457", "/", "930", "/", "936"]
    assert lines[2].split()[:6] == ["CS3a", "5", "/", "1", "/", "4"] and "7,780 / 1,099 / 2,351" in lines[2]
    assert lines[3].split()[:2] == ["CS3b", "-"]
