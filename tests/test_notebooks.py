"""Run the notebooks through papermill with tiny parameters and check what they produced."""

import json
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest

from fnaf.captions import caption_problems
from fnaf.data.annotations import LABEL_CODES, read_annotations
from fnaf.verdicts import VERDICTS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
pytestmark = [pytest.mark.notebook, pytest.mark.slow]  # run by `make test`, not by a bare `pytest`


def run(name, tmp_path, **parameters):
    tmp_path.mkdir(parents=True, exist_ok=True)
    results = tmp_path / "results"
    papermill.execute_notebook(
        str(NOTEBOOKS / name), str(tmp_path / name), parameters={**parameters,
                                                                "results_dir": str(results)},
        progress_bar=False, kernel_name="python3",
    )
    executed = nbformat.read(tmp_path / name, as_version=4)
    assert uncaptioned(executed) == [], f"{name} shows tables or figures without a caption"
    return results


def output_html(output) -> str:
    """One cell output as the book renders it: a figure as an image, else its HTML."""
    data = output.get("data", {})
    return "<img/>" if "image/png" in data else data.get("text/html", "")


def uncaptioned(notebook) -> list[str]:
    """Each code cell's tables and figures shown without a caption of their unit, N and data."""
    return [f"cell {number}: {problem}" for number, cell in enumerate(notebook.cells)
            if cell.cell_type == "code"
            for problem in caption_problems("".join(map(output_html, cell.outputs)))]


def test_data_notebook_on_the_embedded_phantom(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("00_data.ipynb", tmp_path, train_volumes=3, val_volumes=2, slices=3)
    (phantom,) = (tmp_path / "cache" / "phantom").glob("demo-*")
    counts = pd.read_csv(results / "label_counts.csv")
    assert counts["label"].tolist() == list(LABEL_CODES)
    assert counts["N_paper"].sum() == 157  # the paper's Table 4 N, printed beside ours
    val_boxes = read_annotations(phantom / "singlecoil_bb_val.csv")
    assert counts["N_val"].sum() == len(val_boxes.drop_duplicates(["filename", "slice", "label"]))
    masks = pd.read_csv(results / "masks.csv").set_index("acceleration")
    assert masks.loc[4, "centre_columns"] == round(148 * 0.08)
    assert masks.loc[8, "centre_columns"] == round(148 * 0.04)
    assert masks.loc[4, "sampled_columns"] > masks.loc[8, "sampled_columns"]
    measured = 148 / masks["sampled_columns"]
    assert masks["measured_acceleration"].tolist() == pytest.approx(measured.tolist(), abs=1e-3)
    assert 2.5 < masks.loc[4, "measured_acceleration"] < masks.loc[8, "measured_acceleration"]
    table1 = pd.read_csv(results / "table1.csv", index_col=["data", "count"])
    assert table1.loc[("reconstruction", "volumes"), ["train", "val"]].tolist() == [3, 2]
    assert table1.loc[("reconstruction", "slices"), "val"] == 2 * 3
    assert table1.loc[("reconstruction", "volumes"), "paper train"] == "973"  # the paper's count
    assert table1.loc[("annotation", "volumes"), "val"] == val_boxes["filename"].nunique()


def test_data_notebook_on_a_given_data_root(tmp_path, phantom_root):
    results = run("00_data.ipynb", tmp_path, data_root=str(phantom_root))
    masks = pd.read_csv(results / "masks.csv")
    assert masks["centre_columns"].tolist() == [round(40 * 0.08), round(40 * 0.04)]
    counts = pd.read_csv(results / "label_counts.csv")
    train_boxes = read_annotations(phantom_root / "singlecoil_bb_train.csv")
    assert counts["boxes_train"].sum() == len(train_boxes)


def test_baselines_notebook_builds_table3_beside_the_paper(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("01_baselines.ipynb", tmp_path, model="both", scale="smoke",
                  runs_root=str(tmp_path / "runs"))
    table = pd.read_csv(results / "table3_baselines.csv", index_col=["AF", "model"])
    assert table.index.tolist() == [(af, model) for af in ("4×", "8×")
                                    for model in ("zero-filled", "U-Net", "I-RIM")]
    assert table.loc[("8×", "I-RIM"), "paper SSIM"] == 0.6916  # the paper's 8x row
    assert table.loc[("4×", "U-Net"), "paper NMSE"] == 0.0345
    assert table.xs("zero-filled", level="model")[["paper NMSE", "paper SSIM"]].isna().all().all()
    # one model per architecture, trained on mixed masks, serves both accelerations
    runs = {path.name.split("-")[0]: path for path in (tmp_path / "runs").iterdir()}
    assert sorted(runs) == ["irim", "unet"] and all("-4-8x-smoke-" in p.name for p in runs.values())
    import json

    volumes = pd.DataFrame(json.loads((runs["irim"] / "evaluations" / "8x.json").read_text())
                           ["volumes"])
    assert table.loc[("8×", "I-RIM"), "SSIM"] == pytest.approx(volumes["SSIM"].mean())
    assert table.loc[("8×", "I-RIM"), "SSIM std"] == pytest.approx(volumes["SSIM"].std(ddof=1))
    zero = table.xs("zero-filled", level="model")
    assert zero.loc["8×", "NMSE"] > zero.loc["4×", "NMSE"]  # fewer samples at 8x
    beats = pd.read_csv(results / "versus_zero_filled.csv", index_col=["AF", "model"])
    assert beats.index.tolist() == [(af, m) for af in ("4×", "8×") for m in ("U-Net", "I-RIM")]
    assert beats.loc[("8×", "I-RIM"), "NMSE difference"] == pytest.approx(
        (volumes["NMSE"] - pd.DataFrame(json.loads((runs["irim"] / "evaluations" / "8x.json")
                                                   .read_text())["zero_filled"])["NMSE"]).mean())


def test_baselines_notebook_trains_a_model_per_acceleration_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("01_baselines.ipynb", tmp_path, accel=8, masks="separate", model="unet",
                  scale="smoke", runs_root=str(tmp_path / "runs"))
    table = pd.read_csv(results / "table3_baselines.csv", index_col=["AF", "model"])
    assert table.index.tolist() == [("8×", "zero-filled"), ("8×", "U-Net")]
    assert [p.name.split("-")[2] for p in (tmp_path / "runs").iterdir()] == ["8x"]


def test_a_released_irim_checkpoint_is_the_irim_baseline_and_starts_its_fine_tunes(
        tmp_path, monkeypatch):
    import argparse

    import numpy as np
    import torch

    from fnaf.runs import build_model, preset

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    released = build_model(preset("smoke", "irim")).state_dict()
    torch.save({"epoch": 50, "args": argparse.Namespace(n_steps=2), "best_dev_loss":
                np.float64(0.7), "model": {f"module.{k}": v for k, v in released.items()}},
               tmp_path / "model.pt")
    run("03_robust_training.ipynb", tmp_path, model="irim", scale="smoke", accel=4,
        n_candidates=6, irim_weights=str(tmp_path / "model.pt"), runs_root=str(tmp_path / "runs"))
    names = sorted(path.name.split("-4-8x-")[0] for path in (tmp_path / "runs").iterdir())
    # the file is the baseline (no training); the fine-tunes start from it
    assert names == ["irim-clean-ft", "irim-clean-weights", "irim-fnaf-ft"]
    (baseline,) = (tmp_path / "runs").glob("irim-clean-weights-*")
    assert torch.equal(torch.load(baseline / "model.pt")["output_function.l1.weight_v"],
                       released["output_function.l1.weight_v"])


def test_attacks_notebook_builds_table2_with_the_control(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("02_fnaf_attacks.ipynb", tmp_path, model="both", scale="smoke",
                  n_candidates=6, border=1, runs_root=str(tmp_path / "runs"))
    table = pd.read_csv(results / "table2_baselines.csv", index_col=["AF", "model"])
    assert table.index.tolist() == [(af, model) for af in ("4×", "8×")
                                    for model in ("U-Net", "I-RIM")]
    assert table.loc[("4×", "U-Net"), "paper attack rate (%)"] == 88.89  # the paper's 4x row
    assert table.loc[("8×", "U-Net"), "paper attack rate (%)"] == 92.96
    assert ((table["attack rate (%)"] >= 0) & (table["attack rate (%)"] <= 100)).all()
    paired = pd.read_csv(results / "random_search_vs_fd_volumes.csv", index_col=0)
    assert paired.index.tolist() == ["U-Net 8×", "I-RIM 8×"]  # same slices, by volume
    assert paired["rate difference low"].le(paired["rate difference high"]).all()
    import json

    (unet,) = (tmp_path / "runs").glob("unet-*")
    cached = [json.loads(path.read_text()) for path in (unet / "attacks").glob("random-4x-*.json")]
    magnitude = next(c for c in cached if c["attack"]["domain"] == "magnitude")
    losses = pd.DataFrame(magnitude["slices"])["loss"]
    assert magnitude["accel"] == 4
    assert table.loc[("4×", "U-Net"), "NMSE"] == pytest.approx(losses.mean())
    assert len(losses) == 8 and {"fname", "slice", "row", "col", "size", "pixels"} <= set(
        magnitude["slices"][0])
    contrasts = pd.read_csv(results / "table2_by_contrast.csv", index_col=["AF", "model"])
    per_model = contrasts["slices"].groupby(
        [contrasts.index.get_level_values(0),
         contrasts.index.get_level_values(1).str.split(",").str[0]]).sum()
    assert (per_model == 8).all() and len(per_model) == 4  # every slice in one contrast
    information = pd.read_csv(results / "information_by_contrast.csv", index_col=0)
    assert {"ip_mse_pearson_r", "acceptance_rate"} <= set(information.columns)
    assert set(information.index.str.split(", ").str[-1]) <= {"PD", "PD-FS"}
    assert information["slices"].sum() == 4 * 8  # each model and acceleration's 8 slices
    assert {"complete loss above γ (%)", "feature lost (%) low"} <= set(contrasts.columns)
    methods = pd.read_csv(results / "random_search_vs_fd.csv", index_col=[0, 1])
    assert len(methods) == 4 and methods.index[0][0] == "U-Net 8×"  # at the last acceleration
    domains = pd.read_csv(results / "domains.csv", index_col=[0, 1])
    assert domains.index.get_level_values(1).tolist() == ["magnitude", "normalized"]
    ip = pd.read_csv(results / "information_preservation.csv", index_col=0)
    assert len(ip) == 4 and ip["ip_mse_pearson_r"].between(-1, 1).all()
    assert (ip["ip_pearson_r_low"] <= ip["ip_pearson_r"]).all()


def test_robust_training_notebook_compares_with_a_clean_fine_tune(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("03_robust_training.ipynb", tmp_path, accel=8, model="unet", scale="smoke",
                  beta=3.0, n_candidates=6, runs_root=str(tmp_path / "runs"))
    attacks = pd.read_csv(results / "table2.csv", index_col=["AF", "model"])
    assert attacks.index.tolist() == [("8×", "U-Net"), ("8×", "U-Net + clean fine-tune"),
                                      ("8×", "FNAF U-Net")]
    assert attacks.loc[("8×", "FNAF U-Net"), "paper attack rate (%)"] == 13.38  # paper's 8x row
    assert pd.isna(attacks.loc[("8×", "U-Net + clean fine-tune"), "paper NMSE"])
    quality = pd.read_csv(results / "table3.csv", index_col=["AF", "model"])
    claim = pd.read_csv(results / "claim.csv", index_col=[0, 1])
    assert claim.loc[("U-Net", "8×"), "ΔSSIM (FNAF − clean fine-tune)"] == pytest.approx(
        quality.loc[("8×", "FNAF U-Net"), "SSIM"]
        - quality.loc[("8×", "U-Net + clean fine-tune"), "SSIM"])
    import json

    (robust,) = (tmp_path / "runs").glob("unet-fnaf-ft-4-8x-smoke-*")  # mixed masks
    config = json.loads((robust / "config.json").read_text())
    assert (config["objective"]["beta"] == 3.0
            and config["init_from"]["objective"]["name"] == "clean")
    assert [path.name for path in (robust / "evaluations").iterdir()] == ["8x.json"]


def test_bbox_notebook_builds_table4_over_annotated_units(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("04_bbox_training.ipynb", tmp_path, model="both", scale="smoke",
                  n_candidates=6, runs_root=str(tmp_path / "runs"))
    table = pd.read_csv(results / "table4.csv", index_col=["AF", "compartment"])
    assert table.index.get_level_values("AF").unique().tolist() == ["4×", "8×"]
    table = table.loc["8×"]
    assert table.index[-1] == "All" and len(table) == 12
    (phantom,) = (tmp_path / "cache" / "phantom").glob("smoke-*")
    boxes = read_annotations(phantom / "singlecoil_bb_val.csv")
    assert table.loc["All", "N"] == len(boxes.drop_duplicates(["filename", "slice", "label"]))
    models = ["U-Net", "FNAF U-Net", "B-Box U-Net", "I-RIM", "FNAF I-RIM", "B-Box I-RIM"]
    assert all(model in table.columns for model in models)
    assert table.loc["All", "paper B-Box I-RIM"] == 0.06417  # the paper's 8x value
    tests = pd.read_csv(results / "table4_tests.csv", index_col=["AF", "compartment"]).loc["8×"]
    robust = ["FNAF U-Net", "B-Box U-Net", "FNAF I-RIM", "B-Box I-RIM"]
    assert tests.columns.tolist() == [f"{m} p{kind}" for m in robust
                                      for kind in ("", " rank-sum", " volumes")]
    significant = table["B-Box U-Net significant"].astype(bool)
    assert (significant == (tests["B-Box U-Net p"] <= 0.05)).all()  # NaN (untested): False
    assert set(table["B-Box U-Net direction"]) <= {"lower", "higher", "equal"}
    assert ((table["U-Net low"] <= table["U-Net"]) | table["U-Net low"].isna()).all()
    quality = pd.read_csv(results / "table3.csv", index_col=["AF", "model"])
    assert ("8×", "B-Box I-RIM") in quality.index


def test_classification_notebook_scores_every_input_on_the_same_patches(tmp_path, monkeypatch):
    """At smoke size, with a stand-in for torchvision's ImageNet file (its features' keys and
    shapes) so that the three training strategies are compared as the paper's are."""
    import torch

    from fnaf.models.squeezenet import SqueezeNet

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "squeezenet1_0.pth"
    torch.save({f"features.{key}": value for key, value in
                SqueezeNet("paper").features.state_dict().items()}, weights)
    results = run("05_classification.ipynb", tmp_path, scale="smoke",
                  runs_root=str(tmp_path / "runs"), compare_strategies=True,
                  imagenet_weights=str(weights))
    counts = pd.read_csv(results / "patch_counts.csv", index_col="split")
    assert (counts["abnormal"] == counts["normal"]).all()
    assert counts.loc["val", "paper patches"] == 2552  # Table 1, 32 px
    table = pd.read_csv(results / "table5.csv", index_col=["AF", "input"])
    inputs = ["Fully-sampled", "U-Net", "FNAF U-Net", "B-Box U-Net", "I-RIM", "FNAF I-RIM",
              "B-Box I-RIM"]
    assert table.index.tolist() == [(af, name) for af in ("4×", "8×") for name in inputs]
    assert table.loc[("4×", "U-Net"), "paper Sn"] == 89.74
    for metric in ("Sn", "Sp", "F1", "AUROC"):
        assert table[metric].between(0, 100).all()
        assert (table[f"{metric} low"] <= table[metric] + 1e-9).all()
    assert table.loc["4×", "AUROC"]["Fully-sampled"] == table.loc["8×", "AUROC"]["Fully-sampled"]
    compared = pd.read_csv(results / "comparisons.csv", index_col=["AF", "robust"])
    assert compared.loc[("8×", "FNAF I-RIM"), "baseline"] == "I-RIM"
    assert compared["p"].between(0, 1).all()
    assert compared["volumes"].between(1, counts.loc["val", "volumes"]).all()
    assert compared["p volumes"].dropna().between(0, 1).all()
    assert (compared["rate difference low"] <= compared["rate difference"] + 1e-9).all()
    assert (compared["less confident"] <= compared["missed on both"]).all()
    assert (compared["missed on both"] + compared["fixed"] == compared["false negatives"]).all()
    assert (compared["false negatives"] <= counts.loc["val", "abnormal"]).all()
    drop = pd.read_csv(results / "against_fully_sampled.csv", index_col=["AF", "input"])
    assert drop.index.tolist() == [(af, name) for af in ("4×", "8×") for name in inputs[1:]]
    assert (drop["Δ F1 low"] <= drop["Δ F1"] + 1e-9).all()
    full = table.xs("Fully-sampled", level="input")["F1"]
    assert (drop["Δ F1"] + full.reindex(drop.index.get_level_values("AF")).to_numpy()
            - table.loc[drop.index, "F1"]).abs().max() < 1e-9
    strategies = pd.read_csv(results / "strategies.csv", index_col="strategy")
    assert strategies.index.tolist() == ["head", "all", "scratch"]
    assert (strategies["features"] == "ImageNet").all()
    assert strategies.loc["all", "Δ AUROC"] == pytest.approx(
        strategies.loc["all", "AUROC"] - strategies.loc["head", "AUROC"])
    assert strategies.loc["all", "AUROC"] == pytest.approx(table.loc[("4×", "Fully-sampled"),
                                                                     "AUROC"])


def test_correlation_notebook_reads_each_size_correlation_beside_the_paper(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("06_correlation_analysis.ipynb", tmp_path, scale="smoke", model="unet",
                  runs_root=str(tmp_path / "runs"))
    gains = pd.read_csv(results / "fig6_correlations.csv", index_col=["model", "accel"])
    assert gains.index.tolist() == [(m, a) for a in (4, 8) for m in ("FNAF U-Net", "B-Box U-Net")]
    assert gains.loc[("FNAF U-Net", 8), "paper"] == "negative"
    assert set(gains["verdict"]) <= set(VERDICTS)
    assert ((gains["spearman_low"] <= gains["spearman_r"]) &
            (gains["spearman_r"] <= gains["spearman_high"])).all()
    assert (gains["volumes"] >= 1).all()
    assert gains["sign"].isin(["negative", "positive", "none", "–"]).all()
    assert (gains["spearman_volume_low"].dropna() <= gains["spearman_volume_high"].dropna()).all()
    nmse = pd.read_csv(results / "fig7_correlations.csv", index_col=["model", "accel"])
    assert len(nmse) == 6 and (nmse["n"] == gains["n"].iloc[0]).all()  # the same units
    points = pd.read_csv(results / "fig6_points.csv")
    assert (points["size"] > 0).all() and len(points) == 4 * gains["n"].iloc[0]


def test_the_fnaf_chapters_run_on_volumes_of_several_shapes(tmp_path, monkeypatch,
                                                           varied_root):
    """Chapters 00-06 and the released code's on fastMRI's variety (k-space widths 40 and 44,
    3 and 4 slices), one run cache shared as in the book; each reads every validation slice."""
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    shared = {"scale": "smoke", "data_root": str(varied_root),
              "runs_root": str(tmp_path / "runs")}
    masks = pd.read_csv(run("00_data.ipynb", tmp_path / "00", data_root=str(varied_root))
                        / "masks.csv")
    assert masks["centre_columns"].tolist() in ([round(width * 0.08), round(width * 0.04)]
                                                for width in (40, 44))  # the example's width
    table3 = pd.read_csv(run("01_baselines.ipynb", tmp_path / "01", model="both", **shared)
                         / "table3_baselines.csv", index_col=["AF", "model"])
    assert table3["SSIM"].between(0, 1).all()
    table2 = pd.read_csv(run("02_fnaf_attacks.ipynb", tmp_path / "02", model="both",
                             n_candidates=6, border=1, **shared) / "table2_by_contrast.csv")
    assert (table2.groupby("AF")["slices"].sum() == 2 * 2 * 4).all()  # 2 models x 8 slices
    claim = pd.read_csv(run("03_robust_training.ipynb", tmp_path / "03", accel=8, model="unet",
                            n_candidates=6, **shared) / "claim.csv")
    assert len(claim) == 1
    table4 = pd.read_csv(run("04_bbox_training.ipynb", tmp_path / "04", model="unet",
                             n_candidates=6, **shared) / "table4.csv")
    assert set(table4.AF) == {"4×", "8×"}
    table5 = pd.read_csv(run("05_classification.ipynb", tmp_path / "05", model="unet", **shared)
                         / "table5.csv")
    assert table5["Sn"].between(0, 100).all()
    gains = pd.read_csv(run("06_correlation_analysis.ipynb", tmp_path / "06", model="unet",
                            **shared) / "fig6_correlations.csv")
    assert gains["spearman_r"].between(-1, 1).all()
    departures = pd.read_csv(run("released_code.ipynb", tmp_path / "released", accel=4,
                                 n_candidates=3, **shared) / "departures.csv")
    assert set(departures.rule) == {"paper", "released"}


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_clean_with_a_parameters_cell(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not any(cell.outputs or cell.execution_count for cell in code), "strip outputs"
    assert "parameters" in code[0].metadata.get("tags", []), "first code cell must be `parameters`"


@pytest.mark.parametrize("name, parameters, message", [
    ("02_fnaf_attacks.ipynb", {"gamma": -1.0}, "gamma must be a positive number"),
    ("02_fnaf_attacks.ipynb", {"n_candidates": 0}, "n_candidates >= 1"),
    ("03_robust_training.ipynb", {"n_candidates": 0}, "n_candidates >= 1"),
    ("02_fnaf_attacks.ipynb", {"n_pixels": 500}, "the attack on unet-clean-.*: n_pixels 500 \\("),
    ("03_robust_training.ipynb", {"n_pixels": 500, "model": "unet"},
     "the FNAF objective of unet-fnaf-ft-.*: n_pixels 500 \\("),
    ("04_bbox_training.ipynb", {"annotations_val": "/nowhere/val.csv"},
     "annotation CSV for the val split not found at /nowhere/val.csv"),
    ("04_bbox_training.ipynb", {"gamma": 0.0}, "gamma must be a positive number"),
    ("05_classification.ipynb", {"strategy": "heads"}, "strategy"),
    ("05_classification.ipynb", {"patch_size": 0}, "patch size must be an integer"),
    ("07_measurement_attacks.ipynb", {"eps": [0.02, -0.1]}, "eps must be a number >= 0"),
    ("07_measurement_attacks.ipynb", {"coils": 1}, "coils must be an integer >= 2"),
    ("07_measurement_attacks.ipynb", {"norm": "coil"}, "unknown norm 'coil'"),
    ("07_measurement_attacks.ipynb", {"mask_style": "radial"}, "unknown mask_style 'radial'"),
    ("08_untrained_and_l1.ipynb", {"ssim_variant": "ms-ssim"}, "unknown ssim_variant 'ms-ssim'"),
    ("07_measurement_attacks.ipynb", {"device": "cuda:7"}, "'cuda:7' is not on this machine"),
    ("08_untrained_and_l1.ipynb", {"beta": -1.0}, "beta must be a number >= 0"),
    ("08_untrained_and_l1.ipynb", {"bases": ["wavelet", "curvelet"]}, "unknown basis 'curvelet'"),
    ("08_untrained_and_l1.ipynb", {"lams": [1e-3, -1.0]}, "lam must be a number >= 0"),
    ("08_untrained_and_l1.ipynb", {"decoder": "unet"}, "unknown method 'unet'"),
    ("08_untrained_and_l1.ipynb", {"bases": ["dct"]}, "must include 'wavelet'"),
    ("09_distribution_shift.ipynb", {"hard_fraction": 1.5}, "fraction must be in \\(0, 1\\)"),
    ("09_distribution_shift.ipynb", {"sizes": {"varnet": ["VarNet9"]}},
     "unknown varnet size 'VarNet9'"),
    ("09_distribution_shift.ipynb", {"reference": "U-net5"}, "reference 'U-net5' is not one"),
    ("09_distribution_shift.ipynb", {"per_volume": 0}, "per_volume must be a positive integer"),
    ("09_distribution_shift.ipynb", {"scale": "paper", "data_root": "/knees"},
     "pass \\['shifted_root', 'brain_root'\\]"),
    ("10_small_features.ipynb", {"placements": 0}, "placements must be a positive integer"),
    ("10_small_features.ipynb", {"smooth_map": True}, "set decoder_map=True as well"),
    ("10_small_features.ipynb", {"sizes": [2, 40]}, "does not fit the 32×32 target"),
    ("00_data.ipynb", {"accelerations": [4]}, "accelerations and center_fractions pair"),
    ("07_measurement_attacks.ipynb", {"methods": []}, "methods must be a non-empty list"),
    ("07_measurement_attacks.ipynb", {"methods": ["varnet", "irim"]},
     "methods holds unknown values \\['irim'\\]"),
    ("08_untrained_and_l1.ipynb", {"lams": []}, "lams must be a non-empty list"),
    ("09_distribution_shift.ipynb", {"untrained": []}, "untrained must be a non-empty list"),
    ("10_small_features.ipynb", {"trained": ["irim"]}, "trained holds unknown values \\['irim'\\]"),
    ("10_small_features.ipynb", {"annotations_val": "/nowhere/val.csv"},
     "annotation CSV for the val split not found at /nowhere/val.csv"),
    ("released_code.ipynb", {"data_root": "/nowhere"},
     "data_root='/nowhere': /nowhere: no such directory"),
    ("07_measurement_attacks.ipynb", {"fnaf_data_root": "/nowhere"},
     "fnaf_data_root='/nowhere': /nowhere: no such directory"),
])
def test_notebooks_check_attack_settings_before_training(tmp_path, monkeypatch, name, parameters,
                                                         message):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(papermill.PapermillExecutionError, match=message):
        run(name, tmp_path, **{"scale": "smoke", "runs_root": str(tmp_path / "runs"),
                               **parameters})
    assert not (tmp_path / "runs").exists()  # nothing was trained


def test_measurement_attacks_notebook_attacks_each_network_beside_its_control(tmp_path,
                                                                              monkeypatch,
                                                                              dataset):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("07_measurement_attacks.ipynb", tmp_path / "07_measurement_attacks",
                  scale="smoke", coils=3,
                  eps=[0.02, 0.08], steps=3, slices_per_volume=4,
                  runs_root=str(tmp_path / "runs"), **dataset)
    slices = pd.read_csv(results / "pgd_slices.csv")
    assert set(slices.model) == {"VarNet", "U-Net"} and set(slices.kind) == {"attack", "control"}
    assert slices.relative_norm.tolist() == pytest.approx(slices.eps.tolist(), rel=1e-4)
    # eq. 2's convention: the norm is the measured part's, what the networks see
    assert slices.measured_relative_norm.tolist() == pytest.approx(slices.eps.tolist(), rel=1e-4)
    assert len(slices) == 2 * 2 * 2 * (2 * 4)  # models x eps x kinds x (2 volumes x 4 slices)
    curves = pd.read_csv(results / "ssim_vs_eps.csv")
    assert set(curves.kind) == {"clean", "attack", "control"}
    assert ((curves["SSIM low"] <= curves.SSIM) & (curves.SSIM <= curves["SSIM high"])).all()
    versus = pd.read_csv(results / "attack_vs_control.csv")
    assert len(versus) == 2 * 2 and versus.p.between(0, 1).all()
    compared = pd.read_csv(results / "fnaf_vs_pgd.csv")
    assert sorted(compared.model) == ["B-Box I-RIM", "B-Box U-Net", "FNAF I-RIM", "FNAF U-Net"]
    assert (compared.eps == 0.08).all() and compared.p.between(0, 1).all()
    assert set(compared.direction) <= {"more robust", "less robust", "not shown"}
    multicoil = [path.name for path in (tmp_path / "runs").iterdir() if "varnet" in path.name]
    assert len(multicoil) == 1 and "-4x-smoke-" in multicoil[0]
    # a claim file per attacked network (the leaderboard's), from these rows: no new attack
    found = [json.loads(path.read_text()) for path in (results / "audits").glob("*.json")
             if not path.name.endswith(".rows.json")]
    assert sorted(claim["model"]["label"] for claim in found) == sorted([
        "VarNet", "U-Net", "U-Net", "I-RIM", "FNAF U-Net", "B-Box U-Net", "FNAF I-RIM",
        "B-Box I-RIM"])  # the multi-coil networks, then the FNAF chapters' at the largest ε
    claims = {claim["model"]["label"]: claim for claim in found}
    varnet = pd.DataFrame(claims["VarNet"]["metrics"]).set_index(["eps", "kind", "score"])
    attacked = slices[(slices.model == "VarNet") & (slices.kind == "attack")]
    assert varnet.loc[(0.08, "attack", "SSIM"), "mean"] == pytest.approx(
        attacked[attacked.eps == 0.08].SSIM.mean())
    assert claims["VarNet"]["suite"]["attack"] == "k-space PGD (chapter 07)"
    assert claims["VarNet"]["model"]["name"] == multicoil[0]


def test_untrained_notebook_attacks_l1_and_the_convdecoder_beside_the_trained_networks(
        tmp_path, monkeypatch, dataset):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("08_untrained_and_l1.ipynb", tmp_path, scale="smoke", coils=3,
                  eps=[0.02, 0.08], steps=3, lams=[3e-4, 1e-3],
                  runs_root=str(tmp_path / "runs"), **dataset)
    slices = pd.read_csv(results / "attack_slices.csv")
    assert set(slices.model) == {"VarNet", "U-Net", "l1", "ConvDecoder"}
    assert slices.measured_relative_norm.tolist() == pytest.approx(slices.eps.tolist(), rel=1e-4)
    per_model = slices.groupby("model").eps.unique().map(sorted)
    assert per_model["l1"] == per_model["U-Net"] == [0.02, 0.08]
    assert per_model["ConvDecoder"] == [0.08]  # the decoder at the largest ε only
    keys = slices.groupby("model")[["fname", "slice"]].apply(lambda g: set(map(tuple, g.values)))
    assert all(k == keys["l1"] for k in keys)  # every method on the same slices
    sweep = pd.read_csv(results / "lambda_sweep.csv")
    assert set(sweep.basis) == {"wavelet", "fourier", "dct"} and set(sweep.lam) == {3e-4, 1e-3}
    assert not set(sweep.fname) & set(slices.fname)  # tuned on training volumes only
    compared = pd.read_csv(results / "basis_comparison.csv")
    # each basis with its own λ, and with the wavelet's where that differs
    assert {"l1 (dct)", "l1 (fourier)"} <= set(compared.model)
    assert all(model.startswith(("l1 (dct)", "l1 (fourier)")) for model in compared.model)
    assert (compared.reference == "l1 (wavelet)").all()
    cached = list((tmp_path / "runs" / "untrained").glob("*.json"))
    assert len(cached) == 2 + len(compared)  # l1 wavelet, ConvDecoder, and each compared
    claims = [json.loads(path.read_text()) for path in (results / "audits").glob("*.json")
              if not path.name.endswith(".rows.json")]
    assert {claim["model"]["label"] for claim in claims} == {"l1", "ConvDecoder"}
    assert all(claim["model"]["optimises"] and claim["suite"]["attack"] == "two-step (chapter 08)"
               for claim in claims)


def test_distribution_shift_notebook_reads_every_method_on_every_shift(tmp_path, monkeypatch,
                                                                      dataset):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("09_distribution_shift.ipynb", tmp_path, scale="smoke", coils=3, volumes=2,
                  per_volume=2, decoder_slices=1, hard_fraction=0.25, lams=[1e-3, 1e-2],
                  sizes={"varnet": ["VarNet-ref", "VarNet3"], "unet": ["U-net-ref", "U-net3"]},
                  tuning_volumes=1, runs_root=str(tmp_path / "runs"), **dataset)
    scores = pd.read_csv(results / "scores.csv")
    sized = {"VarNet-ref (smoke size)", "VarNet3 (smoke size)", "U-net-ref (smoke size)",
             "U-net3 (smoke size)"}  # the paper's size names only at the paper's sizes
    methods = sized | {"ConvDecoder", "Deep Decoder", "l1 (wavelet)", "l1 (fourier)", "l1 (dct)"}
    assert set(scores.model) == methods
    counts = scores.groupby(["model", "setting"]).size()
    assert counts["VarNet3 (smoke size)", "knee-shifted"] == 2 * 2  # volumes x middle slices
    assert counts["ConvDecoder", "brain"] == 1  # the decoders: decoder_slices
    assert set(scores.setting) == {"knee", "knee-shifted", "brain (knee-tuned)", "brain",
                                   "knee (brain-tuned)", "filtered subset"}
    decoder = scores[scores.model == "ConvDecoder"].set_index(["setting", "tuned"]).SSIM
    assert decoder["brain", "brain"] == decoder["brain (knee-tuned)", "knee"]  # one fit
    lines = pd.read_csv(results / "lines.csv")
    assert set(lines["shift"]) == {"dataset shift", "anatomy shift (Fig. 4)",
                                   "anatomy shift, brain to knee (Fig. 12)",
                                   "knee-tuned, knee against brain (Fig. 13)",
                                   "adversarially-filtered shift"}
    assert (lines.groupby("shift").size() == len(methods)).all()
    assert set(lines.direction) <= {"lower", "higher", "not shown"}
    left_out = lines.set_index(["shift", "model"])["left out"]  # what the summary reads
    assert left_out["adversarially-filtered shift", "VarNet-ref (smoke size)"] == \
        "selected the subset"
    assert left_out["anatomy shift (Fig. 4)", "ConvDecoder"] == "nothing to tune: one fit"
    assert left_out.xs("dataset shift").isna().all()
    networks = pd.read_csv(results / "networks.csv")
    assert set(networks.network) == sized
    paper = networks.set_index("network")["paper parameters"].str.replace(",", "").astype(int)
    assert paper["VarNet-ref (smoke size)"] > paper["VarNet3 (smoke size)"] > 0
    assert (paper > networks.set_index("network").parameters.str.replace(",", "")
            .astype(int)).all()  # the paper's networks are larger than the smoke ones
    fits = pd.read_csv(results / "fits.csv")
    assert len(fits) == 5 and fits.n.eq(len(methods)).all() and fits.r.between(-1, 1).all()
    assert (fits["slope low"] <= fits["slope high"]).all()  # the volume bootstrap's interval
    assert lines["residual"].notna().all() and (lines["residual low"]
                                                <= lines["residual high"]).all()
    assert ((lines["effect low"] <= lines.effect + 1e-9)
            & (lines.effect <= lines["effect high"] + 1e-9) | lines["effect low"].isna()).all()
    low = pd.read_csv(results / "low_frequency.csv")
    assert len(low) == 2 * 4 and low.hard.sum() == 2  # every knee slice; ceil(0.25 * 8)
    assert low["low-frequency proportion"].between(0, 1).all()
    assert low[low.hard].SSIM.max() <= low[~low.hard].SSIM.min()  # the reference's hardest
    sweep = pd.read_csv(results / "lambda_sweep.csv")
    assert set(sweep.anatomy) == {"knee", "brain"} and set(sweep.basis) == {
        "wavelet", "fourier", "dct"}
    trained = sorted(path.name.split("-")[0] for path in (tmp_path / "runs").iterdir()
                     if path.is_dir() and path.name != "untrained")
    assert trained == ["unet"] * 4 + ["varnet"] * 4  # two sizes each, on knees and on brains


def test_small_features_notebook_maps_every_method_and_scores_the_boxes(tmp_path, monkeypatch,
                                                                       dataset):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("10_small_features.ipynb", tmp_path, scale="smoke", coils=3, window=3, grid=2,
                  images=2, sizes=[2, 3], placements=3, decoder_placements=1, box_volumes=2,
                  fnaf_models="unet", lams=[3e-4, 1e-3], runs_root=str(tmp_path / "runs"),
                  decoder_map=True, smooth_map=True, **dataset)
    maps = pd.read_csv(results / "location_maps.csv")
    single = ["U-Net + clean fine-tune", "FNAF U-Net", "B-Box U-Net"]
    smooth = "ConvDecoder (Adam β1 0.98)"  # appendix Fig. 16's smoother fit
    assert set(maps.model) == {"VarNet", "U-Net", "l1", "ConvDecoder", smooth, *single}
    assert (maps.groupby("model").size() == 2 * 2 * 2).all()  # slices x grid x grid
    decoders = maps[maps.model.isin(["ConvDecoder", smooth])].pivot_table(
        "error", ["fname", "row", "col"], "model")
    assert not decoders["ConvDecoder"].equals(decoders[smooth])  # two fits, not one read twice
    cached = list((tmp_path / "runs" / "location_maps").glob("*.json"))
    assert len(cached) == 5  # the multi-coil maps are the run cache's (fnaf location-map's)
    information = pd.read_csv(results / "information_loss.csv")
    counts = information.groupby(["model", "size"]).size()
    assert counts["ConvDecoder"].tolist() == [1, 1] and counts["VarNet"].tolist() == [3, 3]
    draws = information[information.model.isin(["VarNet", "l1"])].groupby("model")[
        ["fname", "row", "col"]].apply(lambda g: list(map(tuple, g.values)))
    assert draws["VarNet"] == draws["l1"]  # the same placements for every method
    flatness = pd.read_csv(results / "flatness.csv")
    assert flatness.reference.tolist() == ["U-Net + clean fine-tune"] * 2
    assert set(flatness.direction) <= {"flatter", "less flat", "not shown"}
    boxes = pd.read_csv(results / "box_errors.csv")
    assert set(boxes.model) == {"VarNet", "U-Net", "l1", "ConvDecoder", *single}
    assert (boxes["box error"] >= 0).all() and boxes.SSIM.between(0, 1).all()
    assert set(pd.read_csv(results / "rankings.csv").group) == {
        "multi-coil methods", "single-coil FNAF models"}
    dependence = pd.read_csv(results / "location_dependence.csv")
    assert dependence["structure p"].between(0, 1).all() and dependence.structured.dtype == bool
    assert smooth in set(dependence.model)
    ranking = pd.read_csv(results / "recovery_ranking.csv")
    assert set(ranking.model) == {"VarNet", "U-Net", "l1", "ConvDecoder"}
    assert (ranking["rank low"] <= ranking["rank"]).all()
    assert (ranking["rank"] <= ranking["rank high"]).all()
    assert len(pd.read_csv(results / "volume_correlations.csv")) == 2  # box_volumes


def test_summary_notebook_reads_every_chapters_tables_into_verdicts(tmp_path):
    from fnaf.claims import claims_register
    from fnaf.studies.summary import COLUMNS, NO_AF, NOT_READ

    fixture = Path(__file__).resolve().parent / "data" / "summary_results"
    results = run("summary.ipynb", tmp_path, results_root=str(fixture))
    table = pd.read_csv(results / "summary.csv", index_col=["claim", "AF"])
    assert table.columns.tolist() == COLUMNS
    assert set(table["verdict"]) <= {*VERDICTS, NOT_READ}
    assert set(table.index.get_level_values("AF")) == {"4×", "8×", NO_AF}
    assert set(table["id"]) == set(claims_register())  # every register entry is rendered
    with pytest.raises(papermill.PapermillExecutionError, match="run notebooks/"):
        run("summary.ipynb", tmp_path, results_root=str(tmp_path / "nothing"))


def test_released_code_notebook_measures_every_departure_against_the_papers_rules(tmp_path,
                                                                                  monkeypatch):
    from fnaf.studies.released_code import DEPARTURES, RELEASED_UNET_ATTACK

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("released_code.ipynb", tmp_path, scale="smoke", accel=4, n_candidates=3,
                  runs_root=str(tmp_path / "runs"))
    table = pd.read_csv(results / "departures.csv", index_col=["departure", "rule"])
    assert table.index.tolist() == [(d.name, rule) for d in (*DEPARTURES, RELEASED_UNET_ATTACK)
                                    for rule in ("paper", "released")]
    paper = table.xs("paper", level="rule")
    assert paper.loc[paper["model"] == "U-Net", "attack rate (%)"].nunique() == 1  # shared
    effects = table.xs("released", level="rule")["effect"]
    assert set(effects) <= {"raises", "lowers", "no change shown"}
    import json

    (irim,) = (tmp_path / "runs").glob("irim-*")
    scales = {json.loads(path.read_text())["attack"].get("target_scale", 1.0)
              for path in (irim / "attacks").glob("random-4x-*.json")}
    assert sorted(scales) == [1.0, pytest.approx(2 ** 0.5)]


def test_real_fastmri_notebook_estimates_each_notebooks_cost_at_a_throughput(tmp_path):
    fast = pd.read_csv(run("real_fastmri.ipynb", tmp_path / "fast", sustained_tflops=40.0)
                       / "costs.csv", index_col="notebook")
    slow = pd.read_csv(run("real_fastmri.ipynb", tmp_path / "slow", sustained_tflops=20.0)
                       / "costs.csv", index_col="notebook")
    assert (slow["PFLOP"] == fast["PFLOP"]).all()
    assert slow["hours"].to_numpy() == pytest.approx(2 * fast["hours"].to_numpy())
    assert "03_robust_training" in slow.index and (slow["hours"] > 0).all()


def test_audit_page_audits_a_model_defined_in_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("audit_your_model.ipynb", tmp_path, scale="smoke", coils=3, eps=[0.02, 0.08],
                  steps=2, restarts=1)
    claims = {name: json.loads((results / "audits" / f"{name}.json").read_text())
              for name in ("apodised", "zero-filled")}
    for claim in claims.values():  # 2 steps: twice the budget may attack harder
        assert claim["suite"]["eps"] == [0.02, 0.08]
        assert {entry["flag"] for entry in claim["flags"]} <= {"not converged"}
        assert {entry["kind"] for entry in claim["metrics"]} == {"attack", "control",
                                                                 "coil noise", "worst case"}
        assert {entry["search"] for entry in claim["features"]} == {
            "random search", "finite differences", "worst case"}
    table = pd.read_csv(results / "ssim_drop.csv", header=[0, 1], index_col=0)
    assert set(table.columns.get_level_values(0)) == {"apodised", "zero-filled"}
    features = pd.read_csv(results / "features.csv", index_col=[0, 1])
    assert set(features.index.get_level_values(0)) == {"apodised", "zero-filled"}
    assert {"hit rate", "control rate", "loss"} <= set(features.columns)
    windows = pd.read_csv(results / "windows.csv", index_col=0)
    assert set(windows.index) == {"apodised", "zero-filled"}
    assert set(windows["location"]) <= {"structured", "no structure shown"}


def test_leaderboard_ranks_the_claim_files_the_chapters_wrote(tmp_path):
    """Two boards of hand-written claim files (fnaf.audit.claim.write_claim): a model with its
    flag, ranked by its worst case; the page fails, naming what to run, without any claim."""
    from fnaf.audit.claim import claim_header, write_claim
    from fnaf.audit.suite import worst_case
    from fnaf.runs import multicoil_preset

    data = multicoil_preset("smoke", "varnet", 4, 3)
    for chapter, name, drop, attack in [("07", "robust", 0.01, "k-space PGD (chapter 07)"),
                                        ("07", "fragile", 0.2, "k-space PGD (chapter 07)"),
                                        ("08", "l1", 0.1, "two-step (chapter 08)")]:
        rows = pd.DataFrame([{"fname": f"v{v}.h5", "slice": 0, "eps": 0.08, "kind": kind,
                              "clean SSIM": 0.9, "SSIM": 0.9 - drop * (kind == "attack")
                              - 0.001 * v, "NMSE": 0.01} for v in range(3)
                             for kind in ("attack", "control")])
        suite = {"attack": attack, "steps": 3, "restarts": 1, "norm": "measured"}  # a chapter's
        flags = [{"flag": "gradient", "message": "m", "advice": "a"}] if name == "fragile" else []
        write_claim(claim_header(name, f"name:{name}", False, suite, data, 4),
                    worst_case(rows), flags, tmp_path / "results" / chapter / "audits")
    features = pd.DataFrame([{"fname": f"v{v}.h5", "slice": 0, "search": search,
                              "loss": 0.1 + 0.2 * v, "control_max": 0.1, "recovery": 0.5}
                             for v in range(3) for search in ("random search", "worst case")])
    suite = {"version": 3, "steps": 3, "restarts": 1, "norm": "measured", "schedule": "apgd"}
    write_claim(claim_header("audited", "name:audited", False, suite, data, 4), worst_case(rows),
                [], tmp_path / "results" / "audit" / "audits", 0, features)
    results = run("leaderboard.ipynb", tmp_path / "page", results_root=str(tmp_path / "results"))
    board = pd.read_csv(results / "leaderboard.csv", index_col=["board", "rank"])
    # boards in name order; the audit suite's claim shows its FNAF hit rate (2 of 3 volumes)
    assert board["model"].tolist() == ["audited", "robust", "fragile", "l1"]
    assert board.index.get_level_values("rank").tolist() == [1, 1, 2, 1]
    assert board["flags"].tolist() == ["none", "none", "gradient", "none"]
    assert board["FNAF hit rate"].iloc[0].startswith("0.667")
    assert board["FNAF hit rate"].iloc[1:].tolist() == ["—"] * 3
    assert board["worst case SSIM drop"].iloc[1].startswith("0.011")
    with pytest.raises(papermill.PapermillExecutionError, match="no claim file"):
        run("leaderboard.ipynb", tmp_path / "none", results_root=str(tmp_path / "nothing"))


def test_start_page_shows_an_fnaf_and_a_measurement_attack(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    results = run("start_here.ipynb", tmp_path, scale="smoke", eps=0.08, volumes=2,
                  runs_root=str(tmp_path / "runs"))
    examples = pd.read_csv(results / "examples.csv").set_index("score")["value"]
    assert examples["NMSE inside T"] > 0
    # the aimed perturbation lowers SSIM more than random noise of its norm
    assert examples["SSIM, attacked"] < min(examples["SSIM, random noise"],
                                            examples["SSIM, clean"])
    executed = json.loads((tmp_path / "start_here.ipynb").read_text())
    images = [output for cell in executed["cells"] for output in cell.get("outputs", [])
              if "image/png" in output.get("data", {})]
    assert len(images) == 2


def test_run_times_page_reads_the_build_record_and_the_warm_record(tmp_path):
    """A hand-made execution record (one chapter) and warm record: the page shows them, and
    names what it lacks."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(tmp_path / "cache"))
    notebook = nbformat.read(NOTEBOOKS / "00_data.ipynb", as_version=4)
    stage = cache.add_nb_to_project(str(NOTEBOOKS / "00_data.ipynb"))
    cache.cache_notebook_bundle(CacheBundleIn(notebook, stage.uri,
                                              data={"execution_seconds": 90.0, "lane": None}),
                                check_validity=False, overwrite=True)
    (tmp_path / "warm.json").write_text(json.dumps(
        {"seconds": {"00_data": 12.0, "10_small_features": 600.0}, "date": "2026-12-07",
         "cores": 2}))
    results = run("run_times.ipynb", tmp_path / "page", cache_dir=str(tmp_path / "cache"),
                  warm_record=str(tmp_path / "warm.json"))
    table = pd.read_csv(results / "run_times.csv", index_col="page")
    assert table.loc["00_data", "cold (min)"] == "1.5"
    assert table.loc["00_data", "warm (min)"] == "0.2"
    assert table.loc["00_data", "live in class"] == "yes"
    assert table.loc["10_small_features", "live in class"] == "no"
    assert table.loc["01_baselines", "cold (min)"] == "not recorded"
    missing = run("run_times.ipynb", tmp_path / "none", cache_dir=str(tmp_path / "nothing"),
                  warm_record=str(tmp_path / "nothing.json"))
    assert (pd.read_csv(missing / "run_times.csv")["warm (min)"] == "not recorded").all()
