"""The report of a VAE-detector run (``experiment: vae``): Markdown tables beside V's published numbers
(when the preset's paper is ``vae2019``), the black-box ROC curves (ours and Gong et al. on one panel per
attack) and the white-box success-ratio curves over eps."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from unmask.fileio import read_json, write_text_atomic
from unmask.paper_numbers import VAE2019, VAE_BENIGN_ACCURACY, VAE_BLACK_BOX_AUC, VAE_CW_WHITE_BOX
from unmask.presets import VAEPreset
from unmask.registry import attack_display
from unmask.report.figures import line_figure, roc_panels


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _paper(value: Any) -> str:
    return "" if value is None else f" (paper {value})"


def report_lines(preset: VAEPreset, results: dict[str, Any], compare: bool | None = None) -> list[str]:
    """The run's numbers as Markdown, V's published ones beside them when ``compare`` (None: when the
    preset follows V)."""
    compare = preset.paper == VAE2019 if compare is None else compare
    dataset = preset.data.dataset
    trained = preset.training.attack["name"]
    paper_key = ("mnist" if dataset == "digits" else dataset, trained)  # the miniature stands in for MNIST
    benign = results["benign_accuracy"]
    lines = [f"# {preset.name}: the disentangling VAE detector (Joe, Hwang & Shin) on {dataset}", "",
             f"{results['n_train']} training and {results['n_test']} test images; trained with "
             f"{attack_display(trained)} ({len(results['rounds']) - 1} min-max rounds after the benign one).", "",
             "## Min-max training", "", "| round | kind | success ratio | reached target | train accuracy | seconds |",
             "|---|---|---|---|---|---|"]
    for r in results["rounds"]:
        lines.append(f"| {r['round']} | {r['kind']} | {_number(r.get('success_ratio'))} | "
                     f"{_number(r.get('reached_ratio'))} | {_number(r['benign_accuracy'])} | {r['seconds']} |")
    lines += ["", "## Benign accuracy (V Table 2)", "", "| classifier | accuracy |", "|---|---|",
              f"| VAE detector (nearest mean in z_r) | {_number(benign['vae'])}"
              f"{_paper(VAE_BENIGN_ACCURACY.get(paper_key) if compare else None)} |",
              f"| no defense (standard CNN, F_s) | {_number(benign['no_defense'])}"
              f"{_paper(VAE_BENIGN_ACCURACY.get((paper_key[0], 'no_defense')) if compare else None)} |", "",
              "## Black-box detection AUC (V Table 3): ours / Gong et al.", "",
              "Positives: the attacked test images that fool the VAE classifier; negatives: as many benign test "
              "images. \"all\": every attacked image against every benign one.", "",
              "| attack on F_s | fools F_s | fools VAE | AUC ours | AUC Gong | AUC ours (all) | AUC Gong (all) |",
              "|---|---|---|---|---|---|---|"]
    published = VAE_BLACK_BOX_AUC.get(paper_key, {}) if compare else {}
    for label, row in results["black_box"].items():
        name = label.split(":")[0]
        theirs = published.get(name)
        lines.append(f"| {attack_display(name)} ({label}) | {_number(row['fools_substitute'])} | "
                     f"{_number(row['fools_vae'])} | {_number(row['auc_ours'])}{_paper(theirs and theirs[0])} | "
                     f"{_number(row['auc_gong'])}{_paper(theirs and theirs[1])} | {_number(row['auc_ours_all'])} | "
                     f"{_number(row['auc_gong_all'])} |")
    white = results["white_box"]
    eps_values = list(next(iter(white["success_ratio"].values()), {}))
    lines += ["", f"## White-box success ratio (misclassified, C1 and C2; {white['n']} test images)", "",
              "| attack | " + " | ".join(f"eps {float(e) / 255:.2f}" for e in eps_values) + " |",
              "|---|" + "---|" * len(eps_values)]
    for name, curve in white["success_ratio"].items():
        lines.append(f"| {attack_display(name)} | " + " | ".join(_number(curve[e]) for e in eps_values) + " |")
    cw = white.get("cw_l2_w")
    if cw:
        theirs = VAE_CW_WHITE_BOX.get(paper_key) if compare else None
        lines += ["", "## CW-L2_W (V Table 4)", "", "| success ratio | mean L2 distortion (||delta||_2/sqrt(d), 0-255) |",
                  "|---|---|", f"| {_number(cw['success_ratio'])}{_paper(theirs and theirs[0])} | "
                  f"{_number(cw['mean_l2_distortion'], 2)}{_paper(theirs and theirs[1])} |"]
    if compare and dataset == "digits":
        lines += ["", "The paper's numbers shown are its MNIST ones: the digits miniature (scikit-learn's 8x8 digits, "
                  "upsampled) is a different, smaller dataset, trained for far fewer rounds and attack steps."]
    return lines


def write_vae_report(preset: VAEPreset, results: dict[str, Any], out_dir: Path,
                     compare: bool | None = None) -> list[Path]:
    """report.md, the black-box ROC panels and the white-box curves under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_text_atomic(out_dir / "report.md", "\n".join(report_lines(preset, results, compare)) + "\n")]
    panels = []
    for label, row in results["black_box"].items():
        curves = [(who, row["roc"][key]["fpr"], row["roc"][key]["tpr"], row[f"auc_{key}"])
                  for key, who in (("ours", "VAE detector"), ("gong", "Gong et al.")) if row["roc"][key] is not None]
        panels.append((label, curves))
    if panels:
        written += roc_panels("Black-box detection", panels, out_dir, "black_box_roc")
    white = results["white_box"]["success_ratio"]
    if white:
        series = {attack_display(name): ([float(e) / 255 for e in curve], list(curve.values()))
                  for name, curve in white.items()}
        written += line_figure("White-box adaptive attacks", "Linf eps", "success ratio (C1 and C2)", series, out_dir,
                               "white_box_success")
    return written


def is_vae_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a VAE-detector run (its run.json's preset is ``experiment: vae``)."""
    info = read_json(Path(run_dir) / "run.json") or {}
    return (info.get("preset") or {}).get("experiment") == "vae"


def rewrite_vae_report(run_dir: Path, out_dir: Path | None = None, compare: bool | None = None) -> list[Path]:
    """`unmask report` on a VAE-detector run: its report again from run.json's preset and results.json."""
    from unmask.presets import preset_from_dict

    run_dir = Path(run_dir)
    results = read_json(run_dir / "results.json")
    if results is None:
        raise FileNotFoundError(f"{run_dir / 'results.json'} not found: the run has not finished its evaluation")
    preset = preset_from_dict(read_json(run_dir / "run.json")["preset"], str(run_dir / "run.json"))
    return write_vae_report(preset, results, Path(out_dir) if out_dir else run_dir / "report", compare)
