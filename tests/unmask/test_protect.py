"""The public API: UnMask with a plain callable classifier and an extractor object."""
import numpy as np
import pytest

from unmask import UnMask


class TableExtractor:
    """Returns fixed part sets keyed by the image's first pixel value (a test double of K's role)."""

    def __init__(self, table):
        self.table = table

    def extract(self, images):
        return [set(self.table[round(float(img[0, 0, 0]) * 10)]) for img in images]


def one_hot_classifier(answers):
    def classify(images):
        idx = [answers[round(float(img[0, 0, 0]) * 10)] for img in images]
        return np.eye(3)[idx]

    return classify


def make_images(keys):
    images = np.zeros((len(keys), 4, 4, 3), np.float32)
    for i, k in enumerate(keys):
        images[i] = k / 10
    return images


def test_detect_and_defend():
    table = {0: {"wheel", "door", "window"}, 1: {"head", "arm", "torso"}, 2: set()}
    answers = {0: 1, 1: 1, 2: 2}  # image 0: a car M calls a person
    um = UnMask(one_hot_classifier(answers), TableExtractor(table), "CS3a", threshold=0.8, batch_size=2)
    verdicts = um.detect(make_images([0, 1, 2]))
    assert [v.predicted for v in verdicts] == ["person", "person", "train"]
    assert [v.is_adversarial for v in verdicts] == [True, False, True]
    assert [v.corrected for v in verdicts] == ["car", "person", None]
    assert verdicts[0].distance == pytest.approx(1.0)
    assert verdicts[1].parts == {"head", "arm", "torso"}
    always = um.defend(make_images([1]), mode="always_rectify")
    assert always[0].corrected == "person"


def test_calibrate_sets_threshold_from_benign_images():
    table = {0: {"wheel", "door"}, 1: {"head", "arm", "torso"}, 2: {"head"}}
    answers = {0: 0, 1: 1, 2: 1}
    um = UnMask(one_hot_classifier(answers), TableExtractor(table), ["car", "person", "train"])
    t = um.calibrate(make_images([0, 1, 2]), target_fpr=0.34)
    flagged = [v.is_adversarial for v in um.detect(make_images([0, 1, 2]))]
    assert sum(flagged) <= 1 and um.threshold == t


def test_bad_images_and_bad_classifier_outputs():
    um = UnMask(lambda x: np.zeros((len(x), 2)), TableExtractor({0: set()}), "CS3a")
    with pytest.raises(ValueError, match="shape"):
        um.detect(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        um.detect(np.full((1, 4, 4, 3), 2.0, np.float32))
    with pytest.raises(ValueError, match="classifier returned"):
        um.detect(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="defense mode"):
        UnMask(lambda x: x, TableExtractor({}), "CS3a", mode="never")
