"""Every named thing of UnMask-TF, declared once: attacks, architectures, defenses, papers, class-set order.

A leaf module: no TensorFlow, no other project import, so the command line, preset validation and the
report read names, options and display names from here without loading a model. Code that runs
something (an attack runner, a model builder, a defense) is named by a ``"module:attribute"`` path
and imported only when used (``load``).

Adding an attack, architecture or defense is one entry here plus the code it names; a plug-in
outside the package registers its own entry at run time with ``register``.
"""
from __future__ import annotations

import importlib
import math
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

INF = math.inf


@dataclass(frozen=True)
class AttackInfo:
    """An untargeted evasion attack on M.

    ``options`` are the spec fields the attack takes besides eps; ``defaults`` fill the unset ones
    (a ``step_size`` default is relative to eps, as Foolbox 3 states its defaults). ``eps_required``
    False means eps may be None: the attack searches a minimal perturbation (DeepFool, C&W).
    """

    name: str
    display: str
    norm: float
    runner: str
    options: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    eps_required: bool = True
    library: str = ""


@dataclass(frozen=True)
class ArchInfo:
    """A model-M architecture: the builder of its base, its input preprocessing, its ImageNet weights."""

    name: str
    display: str
    builder: str
    """``module:attribute`` of the keras.applications constructor, or of our own base builder."""
    preprocessing: str
    """``caffe`` (x*255, RGB->BGR, minus the ImageNet BGR mean), ``torch`` ((x - mean)/std) or ``symmetric`` (2x - 1)."""
    weights_file: str | None
    """The notop ImageNet weights under Keras' download site (None: no pretrained weights exist)."""


@dataclass(frozen=True)
class DefenseInfo:
    """A defense the evaluator scores: its factory (``module:attribute``, or the class itself for a
    plug-in), its column names, and the published metric its accuracy compares with (None: none).
    ``main_table`` False keeps a variant (UnMask's threshold mode) out of the papers' accuracy tables;
    it has its own table."""

    name: str
    display: str
    short: str
    factory: str | Callable[..., Any]
    paper_metric: str | None = None
    main_table: bool = True
    family: str = ""
    """Defenses of one family (UnMask's two modes) share a table comparing them."""
    paper_labels: Mapping[str, str] = field(default_factory=dict)
    """The column heading a paper's table layout uses (KDD'19: "No Def", "UnMask"); else ``short``."""
    description: str = ""


@dataclass(frozen=True)
class TrainRecipe:
    """How a paper trains M: optimiser (SGD with momentum, or Adam; PyTorch's coupled weight decay),
    schedule, base weights, input size, held-out share, augmentation, and adversarial training: its
    PGD-Linf steps, the attack preset whose step size it uses, and the budget of the PGD-Linf attack
    (that preset's steps and step) the kept epoch is selected under. ``resolved`` applies a preset's
    overrides."""

    name: str
    epochs: int
    batch_size: int
    learning_rate: float
    momentum: float
    weight_decay: float
    freeze_base: bool
    weights: str
    image_size: int = 150
    val_fraction: float = 0.1
    flip: bool = False
    """Random horizontal flips while training; the original code had no augmentation."""
    adversarial_steps: int = 7
    adversarial_attack_preset: str = "bigdata2020_legacy"
    adversarial_selection_eps: float = 8.0
    """The original selected the AT epoch on mean(benign, PGD-Linf eps 8 with the preset's 20 steps)."""
    optimizer: str = "sgd"
    """``sgd`` (with ``momentum``) or ``adam`` (Keras' defaults besides the learning rate; the thesis'
    Tables 4-5 compare the two and give no Adam settings)."""

    def resolved(self, **overrides: Any) -> "TrainRecipe":
        """This recipe with every override that is not None (the preset's settings) applied."""
        unknown = set(overrides) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"training recipe {self.name}: unknown settings {sorted(unknown)}")
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class PaperInfo:
    """A paper a preset can follow; ``published`` False for our own presets (the demo)."""

    name: str
    title: str
    published: bool = True


ATTACKS: dict[str, AttackInfo] = {}
ARCHS: dict[str, ArchInfo] = {}
DEFENSES: dict[str, DefenseInfo] = {}
PAPERS: dict[str, PaperInfo] = {}
TRAIN_PRESETS: dict[str, TrainRecipe] = {}

_TABLES: dict[type, dict[str, Any]] = {AttackInfo: ATTACKS, ArchInfo: ARCHS, DefenseInfo: DEFENSES, PaperInfo: PAPERS,
                                       TrainRecipe: TRAIN_PRESETS}
T = TypeVar("T", AttackInfo, ArchInfo, DefenseInfo, PaperInfo, TrainRecipe)


def register(entry: T, replace: bool = False) -> T:
    """Add an entry to its table; a second entry of the same name is an error unless ``replace``."""
    table = _TABLES[type(entry)]
    if entry.name in table and not replace:
        raise ValueError(f"{type(entry).__name__} {entry.name!r} is already registered")
    table[entry.name] = entry
    return entry


def unregister(entry: T) -> None:
    """Remove a plug-in entry (tests use it to leave the registry as they found it)."""
    _TABLES[type(entry)].pop(entry.name, None)


def lookup(table: Mapping[str, T], name: str, kind: str) -> T:
    """The entry ``name`` of ``table``; a ValueError naming the valid names otherwise."""
    if name not in table:
        raise ValueError(f"unknown {kind} {name!r}; valid: {', '.join(table)}")
    return table[name]


def load(path: str | Callable[..., Any]) -> Any:
    """The object a ``module:attribute`` path names (a callable is returned as is)."""
    if callable(path):
        return path
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


# Attacks, in the papers' column order (KDD: DF, FGSM, PGD; BigData: PGD-Linf, PGD-L2, MIA-Linf,
# MIA-L2). Defaults are the libraries': Foolbox LinfPGD (40 steps, eps/30, random start), L2PGD (50,
# 0.025 eps, random start), CleverHans MIM (10, 0.2 eps, decay 1.0), Foolbox L2DeepFool (50 steps).
# foolbox1 (off by default) runs our code with Foolbox 1.8's semantics, the KDD'19 code's library:
# DeepFool overshoots 1.05 on every step from the clipped point; FGSM tries 1000 eps up to eps and keeps
# the smallest that fools M; PGD searches eps (x1.5 from eps until a run fools M, then 20 bisections,
# the step scaled with eps, each run stopping at its first adversarial) and keeps the least perturbed
# adversarial. random_start "advertorch" draws AdverTorch 0.2's start (see AttackSpec).
for _entry in (
    AttackInfo("deepfool_l2", "DF", 2, "unmask.attacks:run_deepfool", ("steps", "foolbox1"),
               {"steps": 50, "foolbox1": False}, eps_required=False,
               library="Foolbox 3 L2DeepFoolAttack; foolbox1: ours, as Foolbox 1.8 DeepFoolL2Attack"),
    AttackInfo("fgsm", "FGSM", INF, "unmask.attacks:run_fgsm", ("foolbox1",), {"foolbox1": False},
               library="CleverHans 4 fast_gradient_method; foolbox1: ours, as Foolbox 1.8 GradientSignAttack"),
    AttackInfo("pgd_linf", "PGD-Linf", INF, "unmask.attacks:run_pgd", ("steps", "step_size", "random_start", "foolbox1"),
               {"steps": 40, "step_size": 1 / 30, "random_start": True, "foolbox1": False},
               library="CleverHans 4 projected_gradient_descent; foolbox1: ours, as Foolbox 1.8 "
                       "RandomStartProjectedGradientDescentAttack"),
    AttackInfo("pgd_l2", "PGD-L2", 2, "unmask.attacks:run_pgd", ("steps", "step_size", "random_start"),
               {"steps": 50, "step_size": 0.025, "random_start": True},
               library="CleverHans 4 projected_gradient_descent"),
    AttackInfo("mim_linf", "MIA-Linf", INF, "unmask.attacks:run_mim", ("steps", "step_size", "decay"),
               {"steps": 10, "step_size": 0.2, "decay": 1.0}, library="CleverHans 4 momentum_iterative_method"),
    AttackInfo("mim_l2", "MIA-L2", 2, "unmask.attacks:run_mim", ("steps", "step_size", "decay"),
               {"steps": 10, "step_size": 0.2, "decay": 1.0}, library="CleverHans 4 momentum_iterative_method"),
    # Beyond the papers. Carlini & Wagner L2 (Adam on a tanh-space variable, binary search over the
    # constant c). Defaults are Foolbox 3.3.4's L2CarliniWagnerAttack: 10,000 Adam steps, learning rate
    # (Foolbox "stepsize", unitless: tanh space) 0.01, confidence 0, initial_const 1e-3, 9 binary-search
    # steps, abort_early. eps None = the minimal perturbation it finds; an eps is a budget.
    AttackInfo("cw_l2", "CW-L2", 2, "unmask.attacks:run_cw_l2",
               ("steps", "learning_rate", "confidence", "initial_const", "binary_search_steps"),
               {"steps": 10_000, "learning_rate": 0.01, "confidence": 0.0, "initial_const": 1e-3,
                "binary_search_steps": 9},
               eps_required=False, library="Foolbox 3 L2CarliniWagnerAttack"),
):
    register(_entry)

# The adaptive (white-box) attacks of Joe, Hwang & Shin's VAE detector (V Table 8, unmask.vae_attacks):
# the attack's loss -/+ gamma * l_pass (the detector-bypass loss of a model that has a detector; none:
# the plain attack), an outer binary search over gamma (gamma_search_steps runs; 0 = one run). Defaults
# are V Table 8's; a step size relative to eps: PGD_W ss 0.01 and MIM_W ss 1e-3 at eps 0.3.
for _entry in (
    AttackInfo("fgsm_w", "FGSM_W", INF, "unmask.vae_attacks:run_fgsm_w", ("gamma", "gamma_search_steps"),
               {"gamma": 1.0, "gamma_search_steps": 3}, library="ours, on CleverHans 4 fast_gradient_method"),
    AttackInfo("pgd_w", "PGD_W", INF, "unmask.vae_attacks:run_pgd_w",
               ("steps", "step_size", "random_start", "gamma", "gamma_search_steps"),
               {"steps": 240, "step_size": 1 / 30, "random_start": True, "gamma": 1.0, "gamma_search_steps": 3},
               library="ours, on unmask.attacks' PGD loop"),
    AttackInfo("mim_w", "MIM_W", INF, "unmask.vae_attacks:run_mim_w",
               ("steps", "step_size", "decay", "gamma", "gamma_search_steps"),
               {"steps": 1200, "step_size": 1 / 300, "decay": 0.9, "gamma": 1.0, "gamma_search_steps": 3},
               library="ours, CleverHans 4 momentum_iterative_method's loop with a loss term"),
    AttackInfo("cw_l2_w", "CW-L2_W", 2, "unmask.vae_attacks:run_cw_l2_w",
               ("steps", "learning_rate", "confidence", "initial_const", "binary_search_steps", "gamma",
                "gamma_search_steps"),
               {"steps": 12_000, "learning_rate": 0.01, "confidence": 200.0, "initial_const": 10.0,
                "binary_search_steps": 1, "gamma": 1.0, "gamma_search_steps": 3},
               eps_required=False, library="ours, on Foolbox 3 L2CarliniWagnerAttack"),
):
    register(_entry)

# Architectures, in the papers' row order.
_KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/"
for _entry in (
    ArchInfo("vgg16", "VGG16", "keras.applications:VGG16", "caffe",
             "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ArchInfo("resnet50", "ResNet50", "keras.applications:ResNet50", "caffe",
             "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ArchInfo("resnet101", "ResNet101", "keras.applications:ResNet101", "caffe",
             "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ArchInfo("densenet121", "DenseNet121", "keras.applications:DenseNet121", "torch",
             "densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ArchInfo("small_cnn", "SmallCNN", "unmask.classifiers:small_cnn_base", "symmetric", None),
    # The thesis (Xiong 2021): ResNet152 for its Table 4 sweep, and M with non-local denoising blocks
    # (ImageNet weights of the plain ResNet101: the blocks start as the identity).
    ArchInfo("resnet152", "ResNet152", "keras.applications:ResNet152", "caffe",
             "resnet/resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ArchInfo("resnet101_fd", "ResNet101-FD", "unmask.classifiers:resnet101_fd_base", "caffe",
             "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ArchInfo("resnet101_fd1", "ResNet101-FD1", "unmask.classifiers:resnet101_fd1_base", "caffe",
             "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ArchInfo("small_cnn_fd", "SmallCNN-FD", "unmask.classifiers:small_cnn_fd_base", "symmetric", None),
):
    register(_entry)

# Defenses, in the report's column order.
for _entry in (
    DefenseInfo("none", "No defense", "None", "unmask.defenses:NoDefense", paper_metric="acc_none",
                paper_labels={"kdd2019": "No Def"},
                description="M's own answer"),
    DefenseInfo("adversarial_training", "Adversarial training", "AT", "unmask.defenses:AdversarialTraining",
                paper_metric="acc_at",
                description="the adversarially trained M's answer, attacked white-box itself"),
    DefenseInfo("unmask", "UnMask", "UM", "unmask.defenses:UnMaskDefense", paper_metric="acc_um", family="unmask",
                paper_labels={"kdd2019": "UnMask"},
                description="UnMask always rectifying (how the papers' numbers were scored); detects"),
    DefenseInfo("unmask_threshold", "UnMask (threshold)", "UM-t", "unmask.defenses:UnMaskThresholdDefense",
                main_table=False, family="unmask",
                description="Algorithm 1: rectify only images whose distance reaches the held-out threshold"),
):
    register(_entry)

# Foreground attention masks (Vaishnavi et al. 2020): VGG-19 at 32 px (keras.applications.VGG19 without
# its top, plus the global-pooling dense head of ``classifiers._head``); the paper names no pretraining,
# so its presets train it from scratch.
register(ArchInfo("vgg19", "VGG19", "keras.applications:VGG19", "caffe",
                  "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"))

for _entry in (PaperInfo("kdd2019", "KDD'19"), PaperInfo("bigdata2020", "BigData'20"),
               PaperInfo("thesis2021", "Xiong 2021 (thesis)"), PaperInfo("demo", "demo", published=False)):
    register(_entry)
# The VAE detector's paper (experiment: vae presets). Its numbers are not UnMask cells: they live in
# paper_numbers' VAE_* tables and the VAE report compares with them, so the UnMask report's paper loops
# (published=True) leave it out.
register(PaperInfo("vae2019", "Joe, Hwang & Shin (VAE detector)", published=False))

register(PaperInfo("vaishnavi2020", "Vaishnavi et al. 2020 (foreground attention masks)"))

# Training recipes of M. BigData'20: the whole network fine-tuned with SGD (lr 0.001, momentum 0.9,
# weight decay 2e-4, batch 32, 30 epochs, best validation epoch). KDD'19: the ImageNet base frozen,
# the new dense head trained; the paper gives no optimiser settings, so it reuses the same SGD.
for _entry in (
    TrainRecipe("bigdata2020", 30, 32, 0.001, 0.9, 2e-4, freeze_base=False, weights="imagenet"),
    TrainRecipe("kdd2019", 30, 32, 0.001, 0.9, 2e-4, freeze_base=True, weights="imagenet"),
):
    register(_entry)

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
"""The optimisers a training recipe can name."""

DEFAULT_TRAIN_PRESET = "bigdata2020"
"""The training recipe of M when a preset or command names none."""

PAPER_CLASS_SETS: tuple[str, ...] = ("CS3a", "CS3b", "CS5a", "CS5b")
"""The class sets in the papers' row order (KDD Table 5 / BigData Table 1)."""


def attack_display(name: str) -> str:
    """The display name of an attack id (the id itself for an unknown one)."""
    return ATTACKS[name].display if name in ATTACKS else name


def arch_display(name: str) -> str:
    """The display name of an architecture id (the id itself for an unknown one)."""
    return ARCHS[name].display if name in ARCHS else name


def weights_url(arch: str) -> str | None:
    """Where the notop ImageNet weights of ``arch`` can be downloaded (None: there are none)."""
    info = lookup(ARCHS, arch, "architecture")
    return None if info.weights_file is None else _KERAS_WEIGHTS + info.weights_file
