"""The thesis' (Xiong 2021) published numbers: spot checks typed again from its tables, and the averages
it quotes recomputed from its cells."""
import statistics

import pytest

from unmask.paper_numbers import CIFAR10, PUBLISHED, THESIS2021, THESIS_SWEEP, published


@pytest.mark.parametrize("model, class_set, attack, eps, metric, value", [
    ("resnet101_fd", "CS5b", None, None, "acc_none_mean", 0.1150),  # Table 7
    ("resnet101_fd", "CS5b", "pgd_l2", 300, "acc_um", 0.9080),
    ("resnet101_fd", "CS3a", "mim_linf", 16, "acc_um", 0.8528),
    ("densenet121", "CS3a", "mim_linf", 8, "acc_um", 0.8354),
    ("densenet121", "CS5a", "mim_l2", 600, "acc_um", 0.8720),
    ("resnet101_fd", None, None, None, "acc_none_mean", 0.1833),  # the averages it quotes
    ("resnet101_fd", None, None, None, "acc_um_mean", 0.8701),
    ("densenet121", None, None, None, "acc_um_mean", 0.8048),
    ("densenet121", None, "mim_linf", 16, "acc_um", 0.6188),
    ("resnet101_fd", None, "mim_linf", 16, "acc_um", 0.7742),
    ("resnet101_adam", None, "mim_linf", 16, "acc_um", 0.52),  # Table 4
    ("densenet121_sgd", None, "pgd_l2", 300, "acc_um", 0.884),
    ("resnet152_sgd", None, "mim_l2", 600, "acc_um", 0.844),
    ("resnet101_sgd", None, None, None, "acc_um_mean", 0.808),  # Table 5
    ("resnet152_adam", None, None, None, "acc_um_mean_pgd", 0.81),
    ("resnet101", CIFAR10, "none", None, "acc_none", 0.954),  # Table 6
    ("resnet101_fd1", CIFAR10, "none", None, "acc_at", 0.8312),
    ("resnet101_fd1", CIFAR10, "pgd_linf", 10, "acc_at", 0.701),
])
def test_spot_checks(model, class_set, attack, eps, metric, value):
    assert published(THESIS2021, model, class_set, attack, eps, metric) == pytest.approx(value, abs=1e-12)


def _cells(model, metric, class_set=True):
    return [v for k, v in PUBLISHED.items() if k.paper == THESIS2021 and k.model == model and k.metric == metric
            and (k.class_set is not None) == class_set and k.class_set != CIFAR10]


def test_table7_averages_the_thesis_quotes():
    """18.33 exactly; 87.01 / 80.48 within the thesis' 0.01 rounding gap; the MI-FGSM Linf 16 means."""
    assert statistics.fmean(_cells("resnet101_fd", "acc_none_mean")) == pytest.approx(0.1833, abs=5e-5)
    assert len(_cells("resnet101_fd", "acc_um")) == len(_cells("densenet121", "acc_um")) == 32
    for model in ("resnet101_fd", "densenet121"):
        mean = statistics.fmean(_cells(model, "acc_um"))
        assert mean == pytest.approx(published(THESIS2021, model, None, None, None, "acc_um_mean"), abs=1.1e-4)
        mim16 = [v for k, v in PUBLISHED.items() if k.paper == THESIS2021 and k.model == model and k.class_set
                 and (k.attack, k.eps) == ("mim_linf", 16.0)]
        assert statistics.fmean(mim16) == pytest.approx(published(THESIS2021, model, None, "mim_linf", 16, "acc_um"),
                                                        abs=5e-5)


def test_table5_is_the_mean_of_table4():
    for model in THESIS_SWEEP:
        row = {(k.attack, k.eps): v for k, v in PUBLISHED.items()
               if k.paper == THESIS2021 and k.model == model and k.metric == "acc_um"}
        assert len(row) == 8
        for metric, family in (("acc_um_mean_pgd", "pgd"), ("acc_um_mean_mim", "mim"), ("acc_um_mean", "")):
            values = [v for (attack, _), v in row.items() if attack.startswith(family)]
            assert statistics.fmean(values) == pytest.approx(published(THESIS2021, model, None, None, None, metric),
                                                             abs=0.051)
