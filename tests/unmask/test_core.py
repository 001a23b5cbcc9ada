"""The UnMask algorithm: vectorized core checked against a plain-set reference."""
import numpy as np
import pytest

from unmask import core
from unmask.parts import CLASS_FEATURES, PARTS, class_set


def reference_jaccard(a, b):
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 0.0


def reference_rectify(found, classes):
    best, best_sim = -1, 0.0
    for i, cls in enumerate(classes):
        sim = reference_jaccard(found, CLASS_FEATURES[cls])
        if sim > best_sim:
            best, best_sim = i, sim
    return best


def test_jaccard_edge_cases():
    assert core.jaccard(set(), set()) == 0.0
    assert core.jaccard({"wheel"}, set()) == 0.0
    assert core.jaccard({"wheel", "saddle"}, {"saddle", "wheel"}) == 1.0
    assert core.jaccard({"wheel"}, {"beak"}) == 0.0
    assert core.jaccard({"wheel", "saddle"}, {"wheel", "beak", "wing"}) == pytest.approx(1 / 4)


def test_similarity_matrix_matches_reference_on_random_sets():
    rng = np.random.default_rng(0)
    classes = list(CLASS_FEATURES)
    found = [set(rng.choice(PARTS, size=rng.integers(0, 8), replace=False)) for _ in range(200)]
    sims = core.similarity_matrix(core.multi_hot(found), core.class_feature_matrix(classes))
    for i, f in enumerate(found):
        for j, cls in enumerate(classes):
            assert sims[i, j] == pytest.approx(reference_jaccard(f, CLASS_FEATURES[cls]), abs=1e-6)
    assert np.array_equal(rectify(found, classes), [reference_rectify(f, classes) for f in found])


def test_bicycle_attacked_into_bird():
    """The papers' running example: K sees bicycle parts, M says bird."""
    classes = ("bicycle", "bird")
    found = [{"wheel", "saddle"}]
    d = distances(found, [1], classes)
    assert d[0] == pytest.approx(1.0)  # no bird part at all
    assert core.is_adversarial(d, 0.5)[0]
    assert rectify(found, classes)[0] == 0  # corrected to bicycle
    # A real bird with most of its parts found looks benign.
    bird = [{"beak", "head", "wing", "tail", "torso", "eye", "leg"}]
    d_bird = distances(bird, [1], classes)
    assert d_bird[0] == pytest.approx(1 - 7 / 9)
    assert not core.is_adversarial(d_bird, 0.5)[0]


def test_detection_is_inclusive_at_threshold():
    assert core.is_adversarial(np.array([0.49, 0.5, 0.51]), 0.5).tolist() == [False, True, True]


def test_first_class_wins_ties():
    # car and bus share all 11 parts: a wheel alone matches both equally; the first listed wins.
    assert rectify([{"wheel"}], ("car", "bus"))[0] == 0
    assert rectify([{"wheel"}], ("bus", "car"))[0] == 0
    # cow and sheep expect the same nine parts; order decides.
    assert rectify([{"horn", "eye"}], ("cow", "sheep"))[0] == 0
    assert rectify([{"horn", "eye"}], ("sheep", "cow"))[0] == 0
    # A strictly better match later in the list still wins: cat (9 parts) beats dog (10) on cat parts.
    assert rectify([{"ear", "eye"}], ("dog", "cat"))[0] == 1


def test_no_matching_class_gives_no_class():
    assert rectify([set(), {"screen"}], class_set("CS3a")).tolist() == [core.NO_CLASS, core.NO_CLASS]


def distances(found, predicted, classes):
    return core.assess(found, predicted, classes, threshold=1.0).scores


def rectify(found, classes):
    return core.assess(found, [0] * len(found), classes, threshold=1.0).rectified


def test_both_defense_modes():
    classes = class_set("CS3a")  # car, person, train
    found = [
        {"wheel", "door", "window", "headlight"},  # car parts, M said person: flagged, rectified to car
        {"head", "arm", "hand", "leg", "torso"},  # person parts, M said person: benign
        {"head"},  # ambiguous: person (1/13) vs train (1/7) -> train when rectified
        set(),  # nothing found
    ]
    predicted = [1, 1, 1, 0]
    t = 0.8
    d = distances(found, predicted, classes)
    assert d[1] == pytest.approx(1 - 5 / 13)
    assert d[2] == pytest.approx(1 - 1 / 13)
    assert core.is_adversarial(d, t).tolist() == [True, False, True, True]
    verdict = core.assess(found, predicted, classes, t)
    assert verdict.flagged.tolist() == [True, False, True, True]
    assert verdict.answers["always_rectify"].tolist() == [0, 1, 2, core.NO_CLASS]
    assert verdict.answers["threshold"].tolist() == [0, 1, 2, core.NO_CLASS]
    # With a high threshold nothing is flagged: threshold mode keeps M, always-rectify does not.
    lenient = core.assess(found, predicted, classes, 1.1)
    assert lenient.answers["threshold"].tolist() == predicted
    assert lenient.answers["always_rectify"].tolist() == [0, 1, 2, core.NO_CLASS]
    assert set(lenient.answers) == set(core.DEFENSE_MODES)
    with pytest.raises(ValueError, match="sometimes"):
        core.check_mode("sometimes")


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        distances([{"wheel"}], [3], ("car", "person", "train"))
    with pytest.raises(ValueError):
        distances([{"wheel"}, {"head"}], [0], ("car", "person"))
    with pytest.raises(ValueError, match="propeller"):
        core.multi_hot([{"propeller"}])


def test_empty_batch():
    assert rectify([], ("car",)).shape == (0,)
    assert distances([], [], ("car",)).shape == (0,)


def test_threshold_for_fpr():
    benign = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    t = core.threshold_for_fpr(benign, 0.1)
    assert t == pytest.approx(0.9)
    assert np.mean(benign >= t) <= 0.1
    assert core.threshold_for_fpr(benign, 0.25) == pytest.approx(0.8)
    # Ties: a value shared by many benign images cannot be split.
    tied = np.array([0.2] * 5 + [1.0] * 5)
    assert core.threshold_for_fpr(tied, 0.1) > 1.0
    assert core.threshold_for_fpr(tied, 0.5) == pytest.approx(1.0)
    assert core.threshold_for_fpr(tied, 1.0) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        core.threshold_for_fpr(np.array([]), 0.1)
