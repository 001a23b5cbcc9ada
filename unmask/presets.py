"""Experiment presets: one YAML file describes data, K, the models M, class sets, attacks, evaluation.

Every section is a frozen dataclass, and ONE generic loader (``load_section``) builds them by walking
their fields and type hints: an unknown key, a wrong type, a value out of range or a missing required
key fails at load, before any work and without TensorFlow, with the file, the key path
(``models[0].train.epcohs``) and the valid keys or values. Defaults live in the dataclasses; a field
whose default is None "(the function's default)" leaves the value to the function that uses it, whose
signature is then the one source. ``key_table()`` renders every key for experiments/README.md.
Relative paths are resolved against the current directory.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Mapping, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from unmask import registry
from unmask.attack_specs import PRESETS as ATTACK_PRESETS, preset_spec
from unmask.parts import CLASSES, canonical_class_set_name
from unmask.results import safe_name

STAGES: tuple[str, ...] = ("data", "k", "k_map", "m", "eps_search", "evaluate", "report")
DEFAULT_STAGES: tuple[str, ...] = ("data", "k", "m", "evaluate", "report")


class PresetError(ValueError):
    """A preset that cannot run: names the file, the key path and what is wrong (valid keys or values)."""

    def __init__(self, problem: str, path: str = "", source: str = ""):
        self.problem, self.path, self.source = problem, path, source
        where = ": ".join(p for p in (source, path) if p)
        super().__init__(f"preset {where}: {problem}" if where else f"preset: {problem}")

    def within(self, prefix: str = "", source: str = "") -> PresetError:
        """The same error seen from an enclosing section (key path prefixed) or file."""
        path = _join(prefix, self.path) if prefix else self.path
        return type(self)(self.problem, path, source or self.source)


class _WrongType(PresetError):
    """The value has the wrong shape (as opposed to the right shape with a bad value)."""


@dataclass(frozen=True)
class Check:
    """A constraint in ``Annotated[T, Check(...)]``: ``test`` returns the value (maybe normalised) or raises ValueError."""

    describe: str
    test: Callable[[Any], Any]


def _at_least(low: float, inclusive: bool = True) -> Check:
    sign = ">=" if inclusive else ">"

    def test(value: float) -> float:
        if value < low or (value == low and not inclusive):
            raise ValueError(f"must be {sign} {low:g}, got {value!r}")
        return value

    return Check(f"{sign} {low:g}", test)


def _within(low: float, high: float) -> Check:
    def test(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be in [{low:g}, {high:g}], got {value!r}")
        return value

    return Check(f"in [{low:g}, {high:g}]", test)


def _one_of(table: Mapping[str, Any] | tuple[str, ...], source: str) -> Check:
    """A name of ``table``, read when checked (so entries registered at run time count)."""

    def test(value: str) -> str:
        if value not in table:
            raise ValueError(f"unknown name {value!r}; valid: {', '.join(table)}")
        return value

    return Check(f"naming an entry of {source}", test)


def _class_name(value: str) -> str:
    if value not in CLASSES:
        raise ValueError(f"unknown class {value!r}; valid: {', '.join(CLASSES)}")
    return value


PositiveInt = Annotated[int, _at_least(1)]
Count = Annotated[int, _at_least(0)]
Fraction = Annotated[float, _within(0.0, 1.0)]
Positive = Annotated[float, _at_least(0.0, inclusive=False)]
Eps = Annotated[float, _at_least(0.0, inclusive=False)]
"""An attack budget in 0-255 pixel units (Linf 8, L2 300)."""
ClassName = Annotated[str, Check("naming a class of unmask.parts.CLASSES", _class_name)]
ClassSetName = Annotated[str, Check("naming a class set of unmask.parts (CS3a, ... or an alias cs3-1, ...)", canonical_class_set_name)]
ArchName = Annotated[str, _one_of(registry.ARCHS, "unmask.registry.ARCHS")]
AttackName = Annotated[str, _one_of(registry.ATTACKS, "unmask.registry.ATTACKS")]
DefenseName = Annotated[str, _one_of(registry.DEFENSES, "unmask.registry.DEFENSES")]
PaperName = Annotated[str, _one_of(registry.PAPERS, "unmask.registry.PAPERS")]
AttackPresetName = Annotated[str, _one_of(ATTACK_PRESETS, "unmask.attack_specs.PRESETS")]
StageName = Annotated[str, _one_of(STAGES, "unmask.presets.STAGES")]
TrainPresetName = Annotated[str, _one_of(registry.TRAIN_PRESETS, "unmask.registry.TRAIN_PRESETS")]
FileName = Annotated[str, Check("usable as a file name: letters, digits, '_', '.', '-', no '__', not starting "
                                 "with a dot", lambda value: safe_name(value, "the"))]


def key(doc: str, default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, yaml_key: str = "",
        read: tuple[Any, Callable[[Any], Any]] | None = None) -> Any:
    """A preset field: its README text, default, the YAML key when it differs from the attribute name, and
    ``read``: (the type the YAML value is read as, the function making the attribute from it)."""
    metadata = {"doc": doc, "yaml": yaml_key, "read": read}
    return field(default=default, default_factory=factory, metadata=metadata)


# ----------------------------------------------------------------------------------------------- sections


@dataclass(frozen=True, kw_only=True)
class SyntheticSpec:
    """Options of dataset_tools.synthetic.generate; each none: generate's own default."""

    n_images: PositiveInt | None = key("VOC-style scenes (PASCAL-Part + VOC annotations)", None)
    size: PositiveInt | None = key("image side in pixels", None)
    seed: int | None = key("generator seed (every image has its own stream)", None)
    imagenet_per_class: Count | None = key("single-object ImageNet-style images per class", None)
    flickr_per_class: Count | None = key("single-object Flickr-style test images per class", None)
    classes: tuple[ClassName, ...] | None = key("classes drawn (default: every class of the four class sets)", None)
    difficulty: Literal["easy", "hard"] | None = key(
        "hard: scale and pose variety, truncation, occlusion, missing parts, lighting, blur, noise; easy: the first generator", None)


@dataclass(frozen=True, kw_only=True)
class DataSpec:
    """Where the data comes from and where the converted forms go."""

    root: Path = key("raw data root: VOC2010/{JPEGImages,Annotations,Annotations_Part}, optional imagenet/, flickr/")
    synthetic: SyntheticSpec | None = key("generate the synthetic dataset into root first (options of `unmask data synth`)", None)
    imagenet: Literal["train", "test"] | None = key(
        "none, train (extra training images for M) or test (KDD: ImageNet is the test split)", None)
    flickr: bool = key("BigData: Flickr images are the test split, de-duplicated against train/val", False)
    legacy_parts: bool = key("PASCAL-Part conversion with the original's headlight -> head labelling", False)
    split: Literal["ours", "kdd2019"] = key(
        "M's VOC split: ours (single-class images, 80/10/10 per class) or kdd2019 (the original's: .mat list, "
        "Random(4), VOC trainval labels, 50/10/40 per set; KDD Table 3's counts)", "ours")
    parts_dir: Path | None = key("COCO json splits for K (none: <root>/converted/parts)", None)
    classsets_dir: Path | None = key("class-set folders <set>/{train,val,test}/<class>/ for M (none: <root>/converted/classsets, "
                                     "with subsample <root>/converted/classsets_subsample)", None)
    workers: PositiveInt | None = key("processes generating and converting the data (the output does not depend on it; "
                                      "none: one per CPU core)", None)
    subsample: Fraction | None = key(
        "the thesis' small crafted dataset: M uses this stratified fraction of every class of every split, linked "
        "into classsets_dir from the full folders (<root>/converted/classsets); the file lists: "
        "<classsets_dir>/subsample.json", None)

    def __post_init__(self) -> None:
        if self.imagenet == "test" and self.flickr:
            raise PresetError("the test split comes from either ImageNet (imagenet: test) or Flickr (flickr: true), not both")
        if self.subsample == 0:
            raise PresetError("must be > 0", "subsample")
        converted = self.root / "converted"
        object.__setattr__(self, "parts_dir", self.parts_dir or converted / "parts")
        default = converted / ("classsets_subsample" if self.subsample else "classsets")
        object.__setattr__(self, "classsets_dir", self.classsets_dir or default)
        if self.subsample and self.classsets_dir == self.full_classsets_dir:
            raise PresetError(f"with subsample, the class-set folders must differ from the full ones ({self.classsets_dir})",
                              "classsets_dir")

    @property
    def full_classsets_dir(self) -> Path:
        """Where the class-set folders are built: classsets_dir, or with subsample the full folders it is drawn from."""
        return self.root / "converted" / "classsets" if self.subsample else self.classsets_dir


@dataclass(frozen=True, kw_only=True)
class KStage:
    """One stage of K's training schedule."""

    layers: str = key("layers trained: heads, 3+, 4+, 5+, all (Matterport's presets) or a layer-name regex")
    epochs: PositiveInt = key("epoch this stage ends at (Matterport counts epochs across stages)")
    lr_factor: Positive | None = key("LEARNING_RATE multiplier (none: train_part_extractor's default, 1)", None)


@dataclass(frozen=True, kw_only=True)
class KTrainSpec:
    """Options of unmask.part_model.train_part_extractor; each none: its own default."""

    schedule: tuple[KStage, ...] | None = key("the stages (none: unmask.part_model.PAPER_SCHEDULE)", None)
    init_weights: Path | None = key("initial weights, e.g. Matterport's mask_rcnn_coco.h5 (class-specific heads excluded)", None)
    flip: Fraction | None = key("probability of a horizontal flip per training image", None)
    config: dict[str, Any] = key("Mask R-CNN config overrides for training only (over config_overrides)", factory=dict)


@dataclass(frozen=True, kw_only=True)
class ExtractorSpec:
    """Model K: a checkpoint to load, or how to train one."""

    checkpoint: Path = key("K's weights (.h5); trained there when missing and `train` is given")
    config: Literal["small", "matterport"] = key("small (CPU) or matterport (the published architecture)", "matterport")
    config_overrides: dict[str, Any] = key("any mrcnn Config attribute (free-form)", factory=dict)
    train: KTrainSpec | None = key("how to train K (none: the checkpoint must exist)", None)
    batch_size: PositiveInt = key("images per detect call", 1)
    detection_min_confidence: Fraction = key("the papers' 0: every kept detection is a found part", 0.0)
    quantize: bool = key("legacy: K sees the image as the original code gave it (uint8, truncated as torchvision's "
                         "ToPILImage, resized to K's canvas in uint8); false: the float image, resized by K's molding", False)


@dataclass(frozen=True, kw_only=True)
class TrainSpec:
    """Options of unmask.training.train_classifier; each none: the training recipe's value
    (unmask.registry.TRAIN_PRESETS)."""

    preset: TrainPresetName | None = key(
        "training recipe: bigdata2020 (whole network) or kdd2019 (frozen ImageNet base); none: bigdata2020", None)
    epochs: PositiveInt | None = key("epochs (the best validation epoch is kept)", None)
    batch_size: PositiveInt | None = key("images per SGD step", None)
    learning_rate: Positive | None = key("learning rate", None)
    optimizer: Literal["sgd", "adam"] | None = key("sgd (with the recipe's momentum) or adam (the thesis' Tables 4-5)", None)
    flip: bool | None = key("random horizontal flips (p = 0.5); none: the recipe's (the papers': no augmentation)", None)
    progress: bool | None = key("show a progress bar per epoch", None)


@dataclass(frozen=True, kw_only=True)
class AdversarialTrainingSpec:
    """The adversarially trained twin of M (PGD-Linf adversarial training, Madry et al.)."""

    eps: Eps = key("training budget, 0-255 units (BigData: 4)")
    train: TrainSpec = key("changes to the model's train recipe for this twin", factory=TrainSpec)


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """One classifier M (trained per class set) and its optional adversarially trained twin."""

    arch: ArchName = key("architecture")
    name: FileName | None = key("model name in the results (none: arch); unique", None)
    image_size: PositiveInt = key("input side in pixels", 150)
    weights: str | None = key("imagenet, a weights file for the base, or none (from scratch)", "imagenet")
    preprocess: Literal["caffe", "torch", "symmetric", "raw"] | None = key(
        "input mapping inside M (none: the architecture's; raw: [0, 1] unnormalised, as the BigData code)", None)
    train: TrainSpec = key("training recipe", factory=TrainSpec)
    adversarial_training: AdversarialTrainingSpec | None = key("train an adversarially trained twin too (none: no AT)", None)
    checkpoints: Path | None = key("folder of existing <set>.keras / <set>_at.keras (none: trained into <output>/models/<name>)", None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name or self.arch)

    def adversarial_train(self) -> TrainSpec:
        """The AT twin's recipe: the model's train recipe with the AT section's changes."""
        assert self.adversarial_training is not None
        return dataclasses.replace(self.train, **given(self.adversarial_training.train))


@dataclass(frozen=True)
class AttackEntry:
    """One attacked budget: an attack name and eps (0-255 units; None: a minimal-perturbation attack)."""

    name: str
    eps: float | None

    def label(self) -> str:
        """``pgd_linf:8`` as on the command line."""
        return self.name if self.eps is None else f"{self.name}:{self.eps:g}"


@dataclass(frozen=True, kw_only=True)
class AttackItem:
    """An attack and its budgets, as written in the preset (one AttackEntry per eps)."""

    name: AttackName = key("attack")
    eps: Eps | tuple[Eps, ...] | None = key("budget(s), 0-255 units; none only for minimal-perturbation attacks (deepfool_l2)", None)

    def __post_init__(self) -> None:
        if registry.ATTACKS[self.name].eps_required and self.eps is None:
            raise PresetError(f"{self.name} needs eps (0-255 units)", "eps")
        if not registry.ATTACKS[self.name].eps_required and self.eps is not None:
            raise PresetError(f"{self.name} searches a minimal perturbation; give it no eps", "eps")

    def entries(self) -> tuple[AttackEntry, ...]:
        """One entry per budget."""
        values = self.eps if isinstance(self.eps, tuple) else (self.eps,)
        return tuple(AttackEntry(self.name, eps) for eps in values)


def _expand_attacks(items: tuple[AttackItem, ...]) -> tuple[AttackEntry, ...]:
    return tuple(entry for item in items for entry in item.entries())


@dataclass(frozen=True, kw_only=True)
class EvaluationSpec:
    """How the grid is scored (every field is part of each cell's fingerprint)."""

    batch_size: PositiveInt = key("images per attack / K batch", 32)
    max_test_images: PositiveInt | None = key("test images per class set (seeded subset); none: all", None)
    max_heldout_images: PositiveInt | None = key("held-out benign validation images that fix the thresholds; none: all", None)
    fpr_targets: tuple[Fraction, ...] = key("operating points: thresholds chosen on the held-out images", (0.05, 0.1))
    threshold_fpr: Fraction = key("FPR whose held-out threshold the threshold-mode defense uses (Algorithm 1)", 0.1)


@dataclass(frozen=True, kw_only=True)
class EpsSearchSpec:
    """Options of unmask.training.eps_search, run per model x class set; each none: its own default."""

    eps_values: tuple[Eps, ...] | None = key("training budgets tried, 0-255 units (none: 1, 2, 4, 6, 8, 16)", None,
                                             yaml_key="eps")
    eval_eps: Eps | None = key("score the candidates under PGD-Linf at this budget only, the original code's "
                               "criterion (none: over every attack cell of the preset, the paper's)", None)


@dataclass(frozen=True, kw_only=True)
class Preset:
    """A whole experiment."""

    name: FileName = key("run name")
    paper: PaperName = key("table layouts and published numbers to compare with", "demo")
    seed: int = key("every random choice flows from it", 0)
    output: Path | None = key("run folder (none: runs/<name>)", None)
    data: DataSpec = key("the data")
    extractor: ExtractorSpec = key("model K, the part extractor", yaml_key="part_extractor")
    models: tuple[ModelSpec, ...] = key("the classifiers M")
    class_sets: tuple[ClassSetName, ...] = key("class sets (aliases cs3-1, ... are mapped to CS3a, ...)")
    attack_preset: AttackPresetName = key("the papers' attack settings", "bigdata2020_corrected")
    attacks: tuple[AttackEntry, ...] = key("attacks and budgets", read=(tuple[AttackItem, ...], _expand_attacks))
    evaluation: EvaluationSpec = key("scoring", factory=EvaluationSpec)
    stages: tuple[StageName, ...] = key("what `unmask run` does by default", DEFAULT_STAGES)
    eps_search: EpsSearchSpec | None = key("the AT eps line search (needed by the eps_search stage)", None)
    defenses: tuple[DefenseName, ...] | None = key(
        "defenses scored (none: none, adversarial_training when a model has AT, unmask, unmask_threshold)", None)
    source: dict[str, Any] = field(repr=False, compare=False, default_factory=dict, metadata={"internal": True})
    """The mapping the preset was read from (recorded in run.json)."""

    def __post_init__(self) -> None:
        _check_run(self, ("class_sets", self.class_sets))
        if "eps_search" in self.stages and self.eps_search is None:
            raise PresetError("the eps_search stage needs an eps_search section, e.g. {eps: [1, 2, 4], eval_eps: 8}", "stages")
        any_at = any(m.adversarial_training is not None for m in self.models)
        if self.defenses is None:
            object.__setattr__(self, "defenses", tuple(d for d in ("none", "adversarial_training", "unmask", "unmask_threshold")
                                                       if any_at or d != "adversarial_training"))
        elif "adversarial_training" in self.defenses and not any_at:
            raise PresetError("adversarial_training is listed but no model has an adversarial_training section", "defenses")

    def fingerprint(self, *parts: Any) -> str:
        """A short stable hash of preset pieces: what a cached result depends on."""
        text = json.dumps([_jsonable(p) for p in parts], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_run(preset: Any, *named: tuple[str, tuple[str, ...]]) -> None:
    """What every kind of preset checks: its run folder (default runs/<name>, inside the working
    directory unless absolute), unique non-empty model names (and ``named`` lists), attacks its attack
    preset knows, and a PGD-Linf in it when a model is adversarially trained."""
    object.__setattr__(preset, "output", preset.output or Path("runs") / preset.name)
    if not preset.output.is_absolute() and not Path.cwd().joinpath(preset.output).resolve().is_relative_to(Path.cwd().resolve()):
        raise PresetError(f"{preset.output} leaves the working directory; write an absolute path to put the run "
                          "there on purpose", "output")
    for what, values in (("models", [m.name for m in preset.models]), *named):
        if not values:
            raise PresetError("needs at least one entry", what)
        if len(set(values)) != len(values):
            raise PresetError(f"names must be unique, got {list(values)}", what)
    if not preset.attacks:
        raise PresetError("needs at least one entry", "attacks")
    for entry in preset.attacks:
        try:
            preset_spec(preset.attack_preset, entry.name, entry.eps)
        except ValueError as err:
            raise PresetError(f"{entry.label()}: {err}", "attacks") from None
    if any(m.adversarial_training for m in preset.models) and "pgd_linf" not in ATTACK_PRESETS[preset.attack_preset]:
        raise PresetError(f"adversarial training uses the attack preset's PGD-Linf; {preset.attack_preset} has none",
                          "attack_preset")


@dataclass(frozen=True, kw_only=True)
class ClassifierEvaluationSpec:
    """How M alone is scored."""

    batch_size: PositiveInt = key("images per attack batch", 32)
    max_test_images: PositiveInt | None = key("test images (seeded subset); none: all", None)


@dataclass(frozen=True, kw_only=True)
class ClassifierPreset:
    """A classifier-only experiment (``experiment: classifier``; no K, no UnMask): every M, and its
    adversarially trained twin, trained on CIFAR-10 and scored top-1 on benign and attacked test
    images, beside the thesis' Table 6."""

    name: FileName = key("run name")
    experiment: Literal["classifier"] = key("classifier: this kind of preset (the others have no such key)")
    paper: PaperName = key("published numbers to compare with", "demo")
    seed: int = key("every random choice flows from it", 0)
    output: Path | None = key("run folder (none: runs/<name>)", None)
    cifar10: Path = key("folder of CIFAR-10's python batches (cifar-10-batches-py: data_batch_1..5, test_batch, "
                        "batches.meta), supplied by the user")
    data_dir: Path | None = key("where the PNG class folders <split>/<class>/ are written (none: <cifar10>/converted)", None)
    models: tuple[ModelSpec, ...] = key("the classifiers M")
    attack_preset: AttackPresetName = key("the attack settings", "bigdata2020_corrected")
    attacks: tuple[AttackEntry, ...] = key("attacks and budgets", read=(tuple[AttackItem, ...], _expand_attacks))
    evaluation: ClassifierEvaluationSpec = key("scoring", factory=ClassifierEvaluationSpec)
    source: dict[str, Any] = field(repr=False, compare=False, default_factory=dict, metadata={"internal": True})

    def __post_init__(self) -> None:
        _check_run(self)
        object.__setattr__(self, "data_dir", self.data_dir or self.cifar10 / "converted")


# ------------------------------------------------------------------ foreground attention masks (Vaishnavi et al.)

MASK_SOURCES: tuple[str, ...] = ("oracle", "part_model")
"""Where the X_FG models' masks come from at test time: the dataset's (the paper's oracle) or K's prediction."""


@dataclass(frozen=True, kw_only=True)
class ForegroundDataSpec:
    """The image + mask dataset (dataset_tools.fg_pairs layout), built into ``root`` when missing."""

    builder: Literal["miniature", "coco_ic", "gtsrb_ic"] = key(
        "miniature (embedded: synthetic single-object crops), coco_ic (MS-COCO-IC from a user-supplied COCO) or "
        "gtsrb_ic (GTSRB-IC from a user-supplied GTSRB, masks by a centre-seeded grabCut)")
    root: Path = key("where the dataset is (written there when dataset.json is missing)")
    source: Path | None = key("the user's raw copy: COCO (annotations/instances_{train,val}2014.json, train2014/, "
                              "val2014/) or GTSRB (Final_Training/Images/, Final_Test/Images/ with GT-final_test.csv); "
                              "none for the miniature", None)
    size: PositiveInt = key("image side in pixels (the paper's 32)", 32)
    seed: int = key("the builder's seed (the miniature's drawings)", 0)
    train_per_class: PositiveInt = key("miniature: training images per class", 100)
    test_per_class: PositiveInt = key("miniature: test images per class", 30)
    difficulty: Literal["easy", "hard"] = key("miniature: the synthetic generator's single-object look", "hard")
    max_train_images: PositiveInt | None = key("training images used (seeded subset); none: all", None)

    def __post_init__(self) -> None:
        if (self.builder == "miniature") != (self.source is None):
            raise PresetError("the miniature has no source; coco_ic and gtsrb_ic need one", "source")


@dataclass(frozen=True, kw_only=True)
class PartModelMaskSpec:
    """The ``part_model`` mask source: K's predicted part masks, united into one foreground mask."""

    checkpoint: Path = key("K's weights (.h5)")
    config: Literal["small", "matterport"] = key("K's configuration", "matterport")
    config_overrides: dict[str, Any] = key("any mrcnn Config attribute (free-form)", factory=dict)
    batch_size: PositiveInt = key("images per detect call", 8)
    min_confidence: Fraction = key("detections below this score are left out of the mask (the UnMask papers' K: 0, "
                                   "every detection K keeps)", 0.0)


@dataclass(frozen=True, kw_only=True)
class ForegroundEvaluationSpec:
    """How the four models are scored."""

    batch_size: PositiveInt = key("images per attack batch", 64)
    max_test_images: PositiveInt | None = key("test images (seeded subset); none: all", None)
    adaptive: bool = key("part_model: also the adaptive attack (BPDA: K's mask recomputed at every step, held "
                         "constant in the backward pass)", True)


@dataclass(frozen=True, kw_only=True)
class ForegroundPreset:
    """The foreground-attention experiment (``experiment: foreground``; Vaishnavi et al. Table 4): per model,
    four classifiers (trained on X or on X_FG = mask * X, naturally or adversarially) scored on benign and
    PGD-attacked test images; the X_FG models per mask source."""

    name: FileName = key("run name")
    experiment: Literal["foreground"] = key("foreground: this kind of preset")
    paper: PaperName = key("published numbers to compare with", "vaishnavi2020")
    seed: int = key("every random choice flows from it", 0)
    output: Path | None = key("run folder (none: runs/<name>)", None)
    data: ForegroundDataSpec = key("the images and their masks")
    models: tuple[ModelSpec, ...] = key("the classifiers M (each gives X/N, X_FG/N and, with adversarial_training, "
                                        "X/A and X_FG/A); image_size must be data.size")
    mask_sources: tuple[Literal["oracle", "part_model"], ...] = key(
        "test-time masks of the X_FG models: oracle (the dataset's, the paper's setting) and/or part_model (K's)",
        ("oracle",))
    part_model: PartModelMaskSpec | None = key("K, for the part_model mask source", None)
    attack_preset: AttackPresetName = key("the attack settings (vaishnavi2020: PGD-Linf, 10 steps of 2/255)",
                                          "vaishnavi2020")
    attacks: tuple[AttackEntry, ...] = key("attacks and budgets (PGD-Linf only: the mask-aware attack)",
                                           read=(tuple[AttackItem, ...], _expand_attacks))
    evaluation: ForegroundEvaluationSpec = key("scoring", factory=ForegroundEvaluationSpec)
    source: dict[str, Any] = field(repr=False, compare=False, default_factory=dict, metadata={"internal": True})
    fingerprint = Preset.fingerprint

    def __post_init__(self) -> None:
        _check_run(self, ("mask_sources", self.mask_sources))
        if any(entry.name != "pgd_linf" for entry in self.attacks):
            raise PresetError("the foreground experiment's attack is the mask-aware PGD-Linf; only pgd_linf", "attacks")
        if "part_model" in self.mask_sources and self.part_model is None:
            raise PresetError("the part_model mask source needs a part_model section (K's checkpoint)", "part_model")
        for i, model in enumerate(self.models):
            if model.image_size != self.data.size:
                raise PresetError(f"must equal data.size ({self.data.size})", f"models[{i}].image_size")
            if model.checkpoints is not None:
                raise PresetError("not used here: the four models are trained into <output>/models", f"models[{i}].checkpoints")
            if model.train.flip or (model.adversarial_training and model.adversarial_train().flip):
                raise PresetError("flips are not supported here (the paper names no augmentation)", f"models[{i}].train.flip")

# ------------------------------------------------------------------ the VAE detector (experiment: vae)


def _attack_mapping(value: dict, where: str, needs_eps: bool = True) -> dict:
    """Check a free-form attack mapping ({name, eps, options}) as an AttackSpec would take it."""
    from unmask.attack_specs import AttackSpec

    raw = dict(value)
    if "name" not in raw:
        raise PresetError("an attack mapping needs a name, e.g. {name: mim_w, eps: 127.5, steps: 200}", where)
    try:
        AttackSpec(**{"eps": 255.0 if not needs_eps and raw.get("eps") is None else None, **raw})
    except (TypeError, ValueError) as err:
        raise PresetError(str(err), where) from None
    return raw


@dataclass(frozen=True, kw_only=True)
class VAEDataSpec:
    """The data of a VAE-detector experiment (V section 3.6)."""

    dataset: Literal["digits", "mnist", "fmnist5", "catdog"] = key(
        "digits (scikit-learn's bundled 8x8 digits upsampled to 28x28: the offline miniature), mnist or fmnist5 "
        "(user-supplied IDX files), catdog (a user-supplied face folder cat/ and dog/)", "digits")
    path: Path | None = key("folder of the IDX files (mnist, fmnist5) or of the cat/ and dog/ faces (catdog)", None)
    digits: tuple[Annotated[int, _within(0, 9)], ...] = key("digits: the digit classes used", (0, 1, 2, 3, 4))
    max_train_per_class: PositiveInt | None = key("training images per class (seeded subset); none: all", None)
    max_test_images: PositiveInt | None = key("test images scored (seeded subset); none: all", None)

    def __post_init__(self) -> None:
        if self.dataset != "digits" and self.path is None:
            raise PresetError(f"dataset {self.dataset} reads user-supplied files: give their folder", "path")


@dataclass(frozen=True, kw_only=True)
class VAETrainingSpec:
    """The min-max training (V Algorithm 1, reconstructed) and the VAE loss; V gives alpha, beta and the
    training attack (Table 7), the rest are the facts sheet's defaults."""

    architecture: Literal["mnist", "fmnist5", "catdog"] = key("V Table 7 architecture", "mnist")
    alpha: Positive = key("KL weight", 1.0)
    beta: Positive = key("z error penalty weight", 100.0)
    density: Literal["kernel", "literal"] = key("N(z|0,I) in the penalty: kernel exp(-|z|^2/2), or the literal "
                                                "normalised density (vanishes numerically)", "kernel")
    penalty_on: Literal["mean", "sample"] = key("where the penalty's density is taken: the encoder's mean (what "
                                                "inference reads) or a sampled z", "mean")
    init_epochs: PositiveInt = key("epochs of the first round (benign only)", 20)
    epochs: PositiveInt = key("epochs per class per min-max round", 20)
    batch_size: PositiveInt = key("pairs per step", 64)
    learning_rate: Positive = key("Adam's learning rate", 1e-3)
    rounds: Count = key("min-max rounds after the benign one (at most)", 3)
    stop_ratio: Fraction = key("stop once a round's success ratio is at most this", 0.0)
    sources_per_class: PositiveInt = key("images of the other classes attacked toward each class per round", 100)
    attack: dict[str, Any] = key("the training attack A_W (V Table 7: MIM_W e 0.5 = 127.5, i 3000, ss 1e-3 = 0.255, "
                                 "df 0.9, bs 0)", factory=lambda: {"name": "mim_w", "eps": 127.5, "steps": 3000,
                                                                  "step_size": 0.255, "decay": 0.9, "gamma": 1.0,
                                                                  "gamma_search_steps": 0})

    def __post_init__(self) -> None:
        object.__setattr__(self, "attack", _attack_mapping(self.attack, "attack"))


@dataclass(frozen=True, kw_only=True)
class VAEEvaluationSpec:
    """The evaluation (V section 3.4): black-box detection AUC against Gong et al., white-box success
    ratio over eps, C&W-L2_W success ratio and distortion."""

    batch_size: PositiveInt = key("images per attack batch", 128)
    classifier_epochs: PositiveInt = key("epochs of the substitute F_s and of Gong et al.'s detector", 10)
    black_box: tuple[dict[str, Any], ...] = key(
        "black-box attacks on the substitute F_s (default: V Table 8, the vae2019 attack preset, at e 0.3 / 0.4)",
        tuple({"name": name, "eps": eps, **ATTACK_PRESETS["vae2019"][name]}
              for name, eps in (("fgsm", 76.5), ("pgd_linf", 102.0), ("mim_linf", 76.5), ("cw_l2", None))))
    gong_attack: dict[str, Any] = key("the attack Gong et al.'s detector is trained with (the training attack, "
                                      "not adaptive)", factory=lambda: {"name": "mim_linf", "eps": 127.5, "steps": 200,
                                                                        "step_size": 2.55, "decay": 0.9})
    white_box: tuple[dict[str, Any], ...] = key(
        "white-box adaptive attacks, run at every white_box_eps (their eps is ignored)",
        ({"name": "fgsm_w", "gamma_search_steps": 3}, {"name": "pgd_w", "steps": 240, "step_size": 2.55},
         {"name": "mim_w", "steps": 1200, "step_size": 0.255, "decay": 0.9}))
    white_box_eps: tuple[Eps, ...] = key("Linf budgets of the success-ratio curves, 0-255 units (0.2-0.8)",
                                         (51.0, 102.0, 153.0, 204.0))
    cw: dict[str, Any] | None = key("CW-L2_W (V Table 4); none: skipped",
                                    factory=lambda: {"name": "cw_l2_w", "steps": 12000, "learning_rate": 0.01,
                                                     "confidence": 200.0, "initial_const": 10.0,
                                                     "gamma_search_steps": 3})
    max_white_box_images: PositiveInt | None = key("test images attacked white-box (seeded subset); none: all", None)

    def __post_init__(self) -> None:
        for index, attack in enumerate(self.black_box):
            _attack_mapping(attack, f"black_box[{index}]")
        for index, attack in enumerate(self.white_box):
            _attack_mapping(attack, f"white_box[{index}]", needs_eps=False)
        _attack_mapping(self.gong_attack, "gong_attack")
        if self.cw is not None:
            _attack_mapping(self.cw, "cw")


@dataclass(frozen=True, kw_only=True)
class VAEPreset:
    """A VAE-detector experiment (``experiment: vae``; Joe, Hwang & Shin; no K, no UnMask): per-class
    dual-latent VAEs trained by the min-max game, scored black-box against Gong et al. and white-box
    under adaptive attacks (``unmask.evaluation.vae``)."""

    name: FileName = key("run name")
    experiment: Literal["vae"] = key("vae: this kind of preset")
    paper: PaperName = key("published numbers to compare with", "demo")
    seed: int = key("every random choice flows from it", 0)
    output: Path | None = key("run folder (none: runs/<name>)", None)
    data: VAEDataSpec = key("the data", factory=VAEDataSpec)
    training: VAETrainingSpec = key("the VAEs and the min-max game", factory=VAETrainingSpec)
    evaluation: VAEEvaluationSpec = key("scoring", factory=VAEEvaluationSpec)
    source: dict[str, Any] = field(repr=False, compare=False, default_factory=dict, metadata={"internal": True})

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", self.output or Path("runs") / self.name)
        if not self.output.is_absolute() and not Path.cwd().joinpath(self.output).resolve().is_relative_to(
                Path.cwd().resolve()):
            raise PresetError(f"{self.output} leaves the working directory; write an absolute path", "output")

def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return obj


def given(section: Any) -> dict[str, Any]:
    """The fields of a section that are set (not None), nested sections as plain dicts: keyword
    arguments for a function whose own defaults fill the rest."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return given(value)
        return tuple(plain(v) for v in value) if isinstance(value, tuple) else value

    return {f.name: plain(getattr(section, f.name)) for f in dataclasses.fields(section)
            if getattr(section, f.name) is not None}


# ------------------------------------------------------------------------------------------------- loader

T = TypeVar("T")


def _join(prefix: str, name: str) -> str:
    if not prefix or not name:
        return prefix or name
    return f"{prefix}{name}" if name.startswith("[") else f"{prefix}.{name}"


def _yaml_fields(cls: type) -> dict[str, dataclasses.Field]:
    """The YAML key of each field a preset file may set."""
    return {f.metadata.get("yaml") or f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}


def _read_type(cls: type, f: dataclasses.Field) -> Any:
    read = f.metadata.get("read")
    return read[0] if read else get_type_hints(cls, include_extras=True)[f.name]


def load_section(cls: type[T], raw: Any, where: str = "", **extra: Any) -> T:
    """Build the section dataclass ``cls`` from a mapping, checking every key against its fields' type
    hints; ``extra`` sets fields that do not come from the file."""
    fields = _yaml_fields(cls)
    if not isinstance(raw, Mapping):
        raise _WrongType(f"expected a mapping with keys {', '.join(fields)}, got {_describe_value(raw)}", where)
    for name in raw:
        if name not in fields:
            close = difflib.get_close_matches(str(name), list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise PresetError(f"unknown key{hint}; valid keys: {', '.join(fields)}", _join(where, str(name)))
    values = dict(extra)
    for name, f in fields.items():
        path = _join(where, name)
        if name in raw:
            value = _convert(raw[name], _read_type(cls, f), path)
            read = f.metadata.get("read")
            values[f.name] = read[1](value) if read else value
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise PresetError("missing required key", path)
    try:
        return cls(**values)
    except PresetError as err:
        raise err.within(where) from None
    except ValueError as err:
        raise PresetError(str(err), where) from None


def _convert(value: Any, tp: Any, path: str) -> Any:
    """``value`` read as type ``tp`` (a PresetError naming ``path`` otherwise)."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *checks = get_args(tp)
        value = _convert(value, base, path)
        for check in checks:
            try:
                value = check.test(value)
            except ValueError as err:
                raise PresetError(str(err), path) from None
        return value
    if origin in (Union, types.UnionType):
        return _convert_union(value, get_args(tp), path)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return load_section(tp, value, path)
    if origin is Literal:
        if value not in get_args(tp) or isinstance(value, bool):
            raise PresetError(f"{value!r} is not one of: {', '.join(map(str, get_args(tp)))}", path)
        return value
    if origin is tuple:
        item_type, ellipsis = get_args(tp)
        assert ellipsis is Ellipsis, "preset tuples are homogeneous: tuple[T, ...]"
        if not isinstance(value, (list, tuple)):
            raise _WrongType(f"expected a list of {_describe_type(item_type)}, got {_describe_value(value)}", path)
        return tuple(_convert(v, item_type, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        key_type, item_type = get_args(tp)
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise _WrongType(f"expected a mapping with string keys, got {_describe_value(value)}", path)
        return {k: _convert(v, item_type, _join(path, k)) for k, v in value.items()}
    return _convert_scalar(value, tp, path)


def _convert_union(value: Any, arms: tuple, path: str) -> Any:
    """None (null or the word none) for an optional field, else the first arm that reads the value; a
    value of the right shape but out of range reports that arm's error."""
    if type(None) in arms and (value is None or value == "none"):
        return None
    arms = tuple(a for a in arms if a is not type(None))
    shape_errors = []
    for arm in arms:
        try:
            return _convert(value, arm, path)
        except _WrongType as err:
            shape_errors.append(err)
    if len(arms) == 1:
        raise shape_errors[0]
    raise _WrongType(f"expected {_describe_type(Union[arms])}, got {_describe_value(value)}", path)


def _convert_scalar(value: Any, tp: type, path: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        number = value
        if isinstance(value, str):  # PyYAML reads 1e-3 (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                number = None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            if not math.isfinite(number):
                raise PresetError(f"must be a finite number, got {value!r}", path)
            return float(number)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Path:
        if isinstance(value, str) and value:
            return Path(value).expanduser()
    else:
        raise TypeError(f"the preset loader cannot read {tp!r} (at {path})")
    raise _WrongType(f"expected {_describe_type(tp)}, got {_describe_value(value)}", path)


_SCALAR_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", Path: "a path"}


def _describe_type(tp: Any) -> str:
    """A type as the README and error messages say it."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *checks = get_args(tp)
        return f"{_describe_type(base)} " + ", ".join(c.describe for c in checks)
    if origin in (Union, types.UnionType):
        return " or ".join("none" if a is type(None) else _describe_type(a) for a in get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(map(str, get_args(tp)))
    if origin is tuple:
        return f"a list of ({_describe_type(get_args(tp)[0])})"
    if origin is dict:
        return "mapping (free-form)"
    if dataclasses.is_dataclass(tp):
        return "section"
    return _SCALAR_NAMES.get(tp, str(tp))


def _describe_value(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", type(None): "null"}.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})" if isinstance(value, (bool, int, float, str)) else kind


# ------------------------------------------------------------------------------------------- entry points


def preset_from_dict(raw: Mapping[str, Any], source: str = "") -> Preset | ClassifierPreset:
    """Validate a preset mapping (as read from YAML); ``source`` names the file in errors. A mapping with
    ``experiment: classifier`` is a ClassifierPreset."""
    experiments = {"classifier": ClassifierPreset, "foreground": ForegroundPreset, "vae": VAEPreset}
    name = raw.get("experiment") if isinstance(raw, Mapping) else None
    kind = experiments.get(name, Preset) if isinstance(name, str) else Preset
    try:
        return load_section(kind, raw, source=dict(raw) if isinstance(raw, Mapping) else {})
    except PresetError as err:
        raise err.within(source=source) from None


def load_preset(path: str | Path) -> Preset | ClassifierPreset:
    """Read and validate a preset YAML file (plain YAML: tags such as !!python/object are refused)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"preset file not found: {path}")
    with open(path, encoding="utf-8") as stream:
        try:
            raw = yaml.safe_load(stream)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problem = " ".join(str(p) for p in (err.context, err.problem) if p)
            if isinstance(err, yaml.constructor.ConstructorError):
                problem += " (presets are plain YAML: no tags such as !!python/object)"
            raise PresetError(at + problem.replace("\n", " "), source=str(path)) from None
        except yaml.YAMLError as err:
            raise PresetError(str(err).replace("\n", " "), source=str(path)) from None
    if not isinstance(raw, dict):
        raise PresetError(f"expected a mapping at the top level, got {_describe_value(raw)}", source=str(path))
    return preset_from_dict(raw, str(path))


def key_table(kind: type = Preset) -> str:
    """Every key of a kind of preset as a Markdown table (key path, type, default, meaning), for experiments/README.md."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]

    def walk(cls: type, prefix: str) -> None:
        for name, f in _yaml_fields(cls).items():
            path = _join(prefix, name)
            tp = _read_type(cls, f)
            section, is_list = _section_of(tp)
            if f.default is not dataclasses.MISSING:
                default = "none" if f.default is None else json.dumps(f.default, default=str)
            elif f.default_factory is not dataclasses.MISSING:
                default = "{}" if f.default_factory is dict else "(section defaults)"
            else:
                default = "**required**"
            kind = ("list of sections" if is_list else "section") if section else _describe_type(tp)
            if section and type(None) in get_args(tp):
                kind += " or none"
            meaning = f.metadata["doc"] + (f". {' '.join(section.__doc__.split())}" if section else "")
            rows.append(f"| `{path}` | {kind} | {default} | {meaning} |")
            if section:
                walk(section, path + ("[]" if is_list else ""))

    walk(kind, "")
    return "\n".join(rows)


def _section_of(tp: Any) -> tuple[type | None, bool]:
    """(the section dataclass inside ``tp``, whether it is a list of them), or (None, False)."""
    for arm in get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,):
        if dataclasses.is_dataclass(arm):
            return arm, False
        if get_origin(arm) is tuple and dataclasses.is_dataclass(get_args(arm)[0]):
            return get_args(arm)[0], True
    return None, False
