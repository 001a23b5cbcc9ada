"""ROC, AUC and operating points: hand-worked cases and scikit-learn agreement."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from unmask import metrics


def test_perfect_and_inverted_separation():
    scores = np.array([0.1, 0.2, 0.8, 0.9])
    labels = np.array([0, 0, 1, 1])
    assert metrics.auc(metrics.roc_curve(scores, labels)) == 1.0
    assert metrics.auc(metrics.roc_curve(-scores, labels)) == 0.0


def test_hand_worked_curve_with_ties():
    # scores: adv 0.9, 0.5 ; benign 0.5, 0.1 -> thresholds inf, 0.9, 0.5, 0.1
    curve = metrics.roc_curve(np.array([0.9, 0.5, 0.5, 0.1]), np.array([1, 1, 0, 0]))
    assert curve.thresholds.tolist() == [np.inf, 0.9, 0.5, 0.1]
    assert curve.tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert curve.fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    # area: 0.5 (first column up to fpr .5 at tpr .5..1 trapezoid = .375) + .5 -> 0.875
    assert metrics.auc(curve) == pytest.approx(0.875)


def test_agrees_with_scikit_learn_on_random_discrete_scores():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(5, 300))
        labels = rng.integers(0, 2, n)
        labels[:2] = [0, 1]
        scores = np.round(rng.random(n) + 0.3 * labels, 1)  # many ties, like Jaccard distances
        ours = metrics.roc_curve(scores, labels)
        fpr, tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
        assert np.allclose(ours.fpr, fpr) and np.allclose(ours.tpr, tpr)
        assert metrics.auc(ours) == pytest.approx(roc_auc_score(labels, scores))


def test_one_class_only_is_an_error():
    with pytest.raises(ValueError, match="positives and negatives"):
        metrics.roc_curve(np.array([0.1, 0.2]), np.array([1, 1]))
    with pytest.raises(ValueError):
        metrics.roc_curve(np.array([0.1, 0.2]), np.array([1, 2]))


def test_operating_point_threshold_from_heldout():
    heldout = np.linspace(0.0, 0.9, 10)  # 10% FPR -> t = 0.9
    point = metrics.operating_point(heldout, np.array([0.0, 0.95, 0.2, 0.3]), np.array([1.0, 0.95, 0.5]), 0.1)
    assert point.threshold == pytest.approx(0.9)
    assert point.tpr == pytest.approx(2 / 3)
    assert point.fpr == pytest.approx(1 / 4)


def test_roc_point_is_the_highest_tpr_within_the_target_fpr():
    curve = metrics.RocCurve(fpr=np.array([0.0, 0.05, 0.1, 0.1, 0.4, 1.0]), tpr=np.array([0.0, 0.5, 0.7, 0.8, 0.9, 1.0]),
                             thresholds=np.array([np.inf, 0.9, 0.8, 0.7, 0.5, 0.1]))
    assert metrics.roc_point(curve, 0.1) == (0.8, 0.1)
    assert metrics.roc_point(curve, 0.09) == (0.5, 0.05)
    assert metrics.roc_point(curve, 0.0) == (0.0, 0.0)
    assert metrics.roc_point(curve, 1.0) == (1.0, 1.0)
