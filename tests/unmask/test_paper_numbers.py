"""The published numbers, spot-checked against the papers' tables (values typed again by hand from the papers)."""
import pytest

from unmask.paper_numbers import BIGDATA2020, KDD2019, PUBLISHED, published


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
    assert all(0.0 <= v <= 1.0 for k, v in PUBLISHED.items() if k.metric != "n_detection_images")
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
