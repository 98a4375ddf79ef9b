"""Distribution shift: per-slice scores, the accuracy-on-the-line reading with its intervals
(paired where the slices are shared), the filtered subset's rule and the k-space energy."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from fnaf.data.batches import SliceGroups  # noqa: E402
from fnaf.data.transforms import KneeSlice  # noqa: E402
from fnaf.studies.distribution_shift import (  # noqa: E402
    accuracy_on_the_line,
    example_images,
    fit_row,
    fits_view,
    frequency_energy,
    frequency_figure,
    hardest_slices,
    line_draws,
    line_fit,
    line_reading,
    low_frequency_proportion,
    mean_difference,
    shift_line,
    shift_scores,
    shift_verdict,
    shift_view,
    size_label,
    verdict_sentence,
    with_residuals,
)


def perfect(batch, perturbation):
    return batch.target


@pytest.mark.filterwarnings("ignore:divide by zero")  # the perfect image's PSNR is infinite
def test_scores_of_the_target_itself_are_perfect_and_chunks_change_nothing(multicoil_batch):
    def blurred(batch, perturbation):
        return batch.target * 0.9

    rows = shift_scores(perfect, multicoil_batch)
    assert list(rows.columns) == ["fname", "slice", "SSIM", "PSNR", "NMSE"]
    assert len(rows) == len(multicoil_batch.fname) and np.allclose(rows.SSIM, 1)
    one_by_one = shift_scores(blurred, multicoil_batch, chunk=1)
    pd.testing.assert_frame_equal(one_by_one, shift_scores(blurred, multicoil_batch, chunk=2))
    assert (one_by_one.SSIM < 1).all()
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        shift_scores(perfect, multicoil_batch, chunk=0)


def frame(values, names, setting="a", model="m", family="VarNet"):
    return pd.DataFrame({"fname": names, "slice": range(len(names)), "SSIM": values,
                         "setting": setting, "model": model, "family": family})


def test_the_difference_is_paired_on_shared_slices_and_independent_across_datasets():
    rng = np.random.default_rng(0)
    names = [f"v{i // 2}" for i in range(20)]
    first = frame(rng.uniform(0.5, 0.9, 20), names)
    shifted = first.assign(SSIM=first.SSIM - 0.1)  # the same slices, each 0.1 lower
    difference, low, high = mean_difference(first, shifted)
    assert difference == pytest.approx(-0.1) and low == pytest.approx(-0.1)
    assert high == pytest.approx(-0.1)  # paired: the slices' own spread cancels
    other = frame(first.SSIM.to_numpy() - 0.1, [f"w{i // 2}" for i in range(20)])
    difference, low, high = mean_difference(first, other)  # another dataset: independent
    assert difference == pytest.approx(-0.1) and low < -0.12 and -0.08 < high < 0
    assert np.isnan(mean_difference(first.head(2), other)[1])  # one volume: no interval
    # the same file names in two sources are different volumes: independent, as above
    renamed = other.assign(fname=first.fname, source="shifted")
    assert mean_difference(first.assign(source="knee"), renamed)[1:] == pytest.approx(
        (low, high))


def test_the_line_reads_each_method_and_fits_their_means():
    rng = np.random.default_rng(1)
    names = [f"v{i // 2}" for i in range(16)]
    frames = []
    for index, (model, level) in enumerate({"big": 0.9, "small": 0.85, "l1": 0.8,
                                            "decoder": 0.75}.items()):
        before = frame(level + 0.01 * rng.standard_normal(16), names, "knee", model,
                       ["VarNet", "U-Net", "l1", "un-trained"][index])
        after = before.assign(SSIM=0.5 * before.SSIM + 0.3, setting="shifted",
                              fname=[f"s{i // 2}" for i in range(16)])
        frames += [before, after]
    points = shift_line(pd.concat(frames), "knee", "shifted")
    assert list(points.model) == ["big", "small", "l1", "decoder"]
    assert (points.direction == "lower").all()  # every method loses 0.15 to 0.075
    assert (points["knee slices"] == 16).all()
    fit = line_fit(points, "knee", "shifted")
    assert fit["slope"] == pytest.approx(0.5) and fit["intercept"] == pytest.approx(0.3)
    assert fit["r"] == pytest.approx(1) and fit["n"] == 4
    assert max(abs(value) for value in fit["residuals"].values()) < 1e-9
    assert np.isnan(fit["slope low"])  # no scores: no bootstrap
    view = shift_view(points, "knee", "shifted")
    assert list(view.columns) == ["family", "knee", "shifted", "effect", "slices", "volumes",
                                  "direction"]
    figure = accuracy_on_the_line({"shift": (points, fit, "knee", "shifted")})
    assert len(figure.axes) == 1


def test_the_filtered_subset_takes_the_hardest_share_and_refuses_nothing_or_all():
    scores = frame([0.9, 0.5, 0.7, 0.5, 0.8, 0.95, 0.6, 0.85], [f"v{i}" for i in range(8)])
    hard = hardest_slices(scores, 0.25)
    assert list(zip(hard.fname, hard.SSIM)) == [("v1", 0.5), ("v3", 0.5)]
    assert len(hardest_slices(scores, 0.3)) == 3  # ceil(0.3 * 8)
    for fraction, message in [(0.0, "must be in \\(0, 1\\)"), (1.0, "must be in"),
                              (True, "must be in"), (0.9, "keeps all of them")]:
        with pytest.raises(ValueError, match=message):
            hardest_slices(scores, fraction)
    with pytest.raises(ValueError, match="no scored slices"):
        hardest_slices(scores.head(0), 0.5)


def _kspace_only(kspace):
    """Slices that hold only k-space (what the energy readings look at)."""
    count = len(kspace)
    return KneeSlice(kspace, None, torch.zeros(count, 4, 4), torch.ones(count), ["f"] * count,
                     torch.arange(count), ["CORPD_FBK"] * count, [""] * count)


def test_the_low_frequency_proportion_and_the_energy_along_the_phase_encodes():
    width = 40
    kspace = torch.zeros(3, 2, 8, width, dtype=torch.complex64)
    kspace[0, :, :, width // 2] = 1  # all energy in the centre column
    kspace[1] = 1  # flat: the centre's share is its share of the columns
    kspace[2, :, :, width // 2 + 7] = 2  # all of it 7 columns from the centre
    wider = torch.zeros(1, 2, 8, width + 4, dtype=torch.complex64)
    wider[0, :, :, width // 2 + 2 + 21] = 1  # 21 columns out: beyond the narrower slices
    slices = SliceGroups((_kspace_only(kspace), _kspace_only(wider)))
    proportion = low_frequency_proportion(slices, 0.08)  # round(40 * 0.08) = 3 centre columns
    assert proportion == pytest.approx([1.0, 3 / width, 0.0, 0.0])
    shares = frequency_energy(slices)
    assert shares.shape == (4, (width + 4) // 2 + 1) and np.allclose(shares.sum(1), 1)
    assert shares[0, 0] == 1 and shares[2, 7] == 1 and shares[3, 21] == 1
    assert shares[1, 1] == pytest.approx(2 / width)  # both sides of the centre added
    assert (shares[:3, width // 2 + 1:] == 0).all()  # no columns that far out
    with pytest.raises(ValueError, match="centre_fraction"):
        low_frequency_proportion(slices, 0)
    proportion, shares = proportion[:3], shares[:3]
    table = pd.DataFrame({"SSIM": [0.5, 0.7, 0.9], "low-frequency proportion": proportion,
                          "hard": [True, False, False]})
    figure = frequency_figure(table, {"all": shares, "hard": shares[:1]})
    assert len(figure.axes) == 2
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["the filtered subset", "the other slices"]  # words, not True/False


def test_the_verdicts_read_every_method_but_the_excluded():
    points = pd.DataFrame({"model": ["a", "b", "c"], "effect": [-0.1, -0.05, 0.0],
                           "direction": ["lower", "lower", "not shown"]})
    on_a_line = {"slope": 0.8, "slope low": 0.3, "r low": 0.4}
    verdict = shift_verdict(points, on_a_line)
    assert verdict["losses"] == "not reproduced" and verdict["line"] == "reproduced"
    verdict = shift_verdict(points, {"slope": 0.8, "slope low": 0.3, "r low": -0.2},
                            {"c": "the same on both sides"})
    assert (verdict["losses"], verdict["read"], verdict["line"]) == ("reproduced", 2,
                                                                     "direction only")
    assert verdict["lower"] == ["a", "b"] and verdict["excluded"] == {"c": "the same on both sides"}
    points.loc[1, "direction"] = "not shown"
    assert shift_verdict(points, on_a_line, {"c": ""})["losses"] == "direction only"


def test_examples_show_the_target_and_each_reconstruction_upright(multicoil_batch):
    images = example_images({"perfect": perfect}, multicoil_batch, index=1)
    assert list(images) == ["ground truth", "perfect"]
    target = multicoil_batch.target[1].numpy()
    assert np.array_equal(images["ground truth"], target[::-1])  # display orientation
    assert np.array_equal(images["perfect"], images["ground truth"])


def test_the_verdict_sentence_says_counts_exclusions_and_the_line():
    points = pd.DataFrame({"model": ["a", "b", "c"], "effect": [-0.1, 0.05, 0.0],
                           "direction": ["lower", "higher", "not shown"]})
    fit = {"slope": 0.6, "slope low": 0.1, "slope high": 0.9, "intercept": 0.2,
           "intercept low": 0.0, "intercept high": 0.5, "r": 0.5, "r low": -0.1, "r high": 0.8,
           "n": 3}
    sentence = verdict_sentence("shift", shift_verdict(points, fit, {"c": "why"}), fit, "x", "y")
    assert sentence == ("shift (y against x): 1 of 2 methods shown lower; shown higher: b; c left "
                        "out (why). (i) not reproduced. (ii) slope 0.60 [0.10, 0.90], intercept "
                        "0.20 [0.00, 0.50] (volumes resampled), r 0.50 [-0.10, 0.80] over 3 "
                        "methods: direction only.")


def test_a_method_whose_means_rest_on_few_volumes_is_not_read():
    points = pd.DataFrame({"model": ["a", "b"], "effect": [-0.1, -0.2],
                           "direction": ["lower", "lower"], "x volumes": [8, 8],
                           "y volumes": [8, 2]})
    verdict = shift_verdict(points, {"r low": 0.1})
    assert verdict["read"] == 1 and verdict["excluded"] == {"b": "2 volumes, too few to read"}
    assert verdict["losses"] == "reproduced"
    assert shift_verdict(points, {"r low": 0.1}, min_volumes=10)["losses"] == "not comparable"


def test_a_shift_expected_to_raise_the_scores_is_read_the_other_way():
    points = pd.DataFrame({"model": ["a", "b"], "effect": [0.1, 0.02],
                           "direction": ["higher", "not shown"]})
    assert shift_verdict(points, {"r low": 0.1}, expected="higher")["losses"] == "direction only"
    points.loc[1, "direction"] = "higher"
    assert shift_verdict(points, {"r low": 0.1}, expected="higher")["losses"] == "reproduced"
    assert shift_verdict(points, {"r low": 0.1})["losses"] == "not reproduced"
    with pytest.raises(ValueError, match="expected"):
        shift_verdict(points, {"r low": 0.1}, expected="up")


SHIFT_SETTINGS = dict(scale="smoke", sizes={"varnet": ["VarNet-ref"], "unet": ["U-net-ref"]},
                      untrained=["convdecoder"], bases=["wavelet"], lams=[1e-3],
                      reference="VarNet-ref", hard_fraction=0.25,
                      roots={"data_root": None, "shifted_root": None, "brain_root": None},
                      volumes=2, per_volume=1, decoder_slices=1, tuning_volumes=1)


@pytest.mark.parametrize("change, message", [
    ({"sizes": {}}, "sizes must be a non-empty dict of size family -> members"),
    ({"sizes": {"varnet": []}}, r"sizes\['varnet'\] must be a non-empty list, not \[\]"),
    ({"sizes": {"irim": ["I-RIM"]}}, r"the families of sizes holds unknown values \['irim'\]; "
                                     r"accepted: \['varnet', 'unet'\]"),
    ({"sizes": {"unet": ["U-net9"]}}, "unknown unet size 'U-net9'; accepted:"),
    ({"untrained": []}, r"untrained must be a non-empty list, not \[\]; accepted: "
                        r"\['convdecoder', 'deepdecoder'\]"),
    ({"untrained": ["dip"]}, r"untrained holds unknown values \['dip'\]"),
    ({"bases": []}, "bases must be a non-empty list"),
    ({"bases": ["curvelet"]}, r"bases holds unknown values \['curvelet'\]"),
    ({"lams": []}, "lams must be a non-empty list"),
    ({"lams": [1e-3, -1.0]}, r"lams holds -1.0; each λ must be a number >= 0"),
    ({"reference": "U-net3"}, r"reference 'U-net3' is not one of the trained sizes .* choose "
                              r"one of \['VarNet-ref', 'U-net-ref'\]"),
    ({"hard_fraction": 1.0}, r"fraction must be in \(0, 1\)"),
    ({"volumes": 0}, "volumes must be a positive integer, not 0"),
    ({"scale": "huge"}, "unknown scale 'huge'"),
    ({"scale": "paper", "roots": {"data_root": "/knees", "shifted_root": None,
                                  "brain_root": "/brains"}},
     r"scale='paper' reads real data for every source: pass \['shifted_root'\]"),
    ({"roots": {"knee_root": "/knees"}}, r"unknown roots \['knee_root'\]"),
])
def test_every_chapter_setting_is_refused_naming_the_parameter_and_the_fix(change, message):
    from fnaf.studies.distribution_shift import check_parameters

    check_parameters(**SHIFT_SETTINGS)
    with pytest.raises(ValueError, match=message):
        check_parameters(**{**SHIFT_SETTINGS, **change})


def _two_settings(levels, shifted, noise=0.01, seed=0):
    """Per method (name -> (family, in-distribution level)) 8 volumes x 2 slices knee rows and
    8 other volumes of the shifted source, scored ``shifted(level)`` plus slice noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for model, (family, level) in levels.items():
        for setting, source, value in (("knee", "knee", level),
                                       ("shifted", "other", shifted(model, level))):
            rows = frame(value + noise * rng.standard_normal(16),
                         [f"v{i // 2}" for i in range(16)], setting, model, family)
            frames.append(rows.assign(source=source))
    return pd.concat(frames, ignore_index=True)


LEVELS = {"big": ("VarNet", 0.9), "small": ("U-Net", 0.82), "l1": ("l1", 0.78),
          "decoder": ("un-trained", 0.74), "tiny": ("U-Net", 0.7)}


def _read(scores):
    points = shift_line(scores, "knee", "shifted")
    fit = line_fit(points, "knee", "shifted", scores=scores)
    return with_residuals(points, fit), fit


def test_the_line_bootstrap_finds_a_known_line_and_a_method_above_it():
    points, fit = _read(_two_settings(LEVELS, lambda model, level: 0.5 * level + 0.3))
    assert 0 < fit["slope low"] < 0.5 < fit["slope high"] < 1
    assert fit["intercept low"] < 0.3 < fit["intercept high"]
    assert line_reading(fit, points)["verdict"] == "reproduced"
    scores = _two_settings(LEVELS, lambda model, level: 0.5 * level + 0.3
                           + (0.05 if model == "l1" else 0))
    points, fit = _read(scores)
    reading = line_reading(fit, points)
    assert fit["slope low"] > 0 and fit["r low"] < 0  # one method off the line: r over 5 falls
    assert reading["verdict"] == "direction only"
    assert reading["above"] == ["l1"]  # 0.05 above the others' line, shown by its interval
    assert "l1 0.0" in reading["text"] and "decoder" in reading["text"]
    assert set(fit_row(fit)) >= {"slope low", "intercept high"} and "residuals" not in fit_row(fit)
    shown = fits_view(pd.DataFrame([{"shift": "dataset shift", "x": "knee", "y": "shifted",
                                     **fit_row(fit)}]))
    assert shown.columns.tolist() == ["x", "y", "methods", "slope", "intercept", "r"]
    assert shown.loc["dataset shift", "slope"] == (
        f"{fit['slope']:.3f} [{fit['slope low']:.3f}, {fit['slope high']:.3f}]")
    # seeded: the same intervals again, and cheap
    assert line_fit(points, "knee", "shifted", scores=scores)["slope low"] == fit["slope low"]


def test_the_line_bootstrap_refuses_a_line_that_is_not_there():
    # the shifted scores do not follow the in-distribution ones: the best method is worst after
    flat = _two_settings(LEVELS, lambda model, level: {"big": 0.55, "small": 0.62, "l1": 0.58,
                                                       "decoder": 0.6, "tiny": 0.59}[model],
                         noise=0.03)
    points, fit = _read(flat)
    assert fit["slope low"] < 0 or fit["r low"] < 0
    assert line_reading(fit, points)["verdict"] != "reproduced"
    falling = _two_settings(LEVELS, lambda model, level: 1.2 - level)
    assert line_reading(*reversed(_read(falling)))["verdict"] == "not reproduced"
    few = {model: LEVELS[model] for model in ("big", "small", "l1")}
    points, fit = _read(_two_settings(few, lambda model, level: 0.5 * level + 0.3))
    assert line_reading(fit, points)["verdict"] == "not comparable"  # r needs four methods


def test_the_line_bootstrap_resamples_volumes_of_each_source():
    scores = _two_settings(LEVELS, lambda model, level: 0.5 * level + 0.3)
    xs, ys = line_draws(scores, list(LEVELS), "knee", "shifted", resamples=50)
    assert xs.shape == ys.shape == (50, len(LEVELS))
    # one volume's slices all 0.3 lower: resampling volumes spreads every method's mean more
    # than the slices' noise alone would
    shifted = scores.assign(SSIM=scores.SSIM - 0.3 * (scores.fname == "v0"))
    wide, _ = line_draws(shifted, list(LEVELS), "knee", "shifted", resamples=200)
    assert (wide.std(0) > 2 * xs.std(0)).all()


def test_size_names_are_the_papers_only_at_the_papers_size():
    assert size_label("paper", "VarNet-ref") == "VarNet-ref"
    assert size_label("demo", "VarNet-ref") == "VarNet-ref (demo size)"


def test_each_settings_caption_counts_its_own_source_and_root():
    from fnaf.captions import Sample
    from fnaf.studies.distribution_shift import setting_samples

    scores = pd.DataFrame({"setting": ["knee", "knee", "brain", "brain", "brain"],
                           "source": ["knee", "knee", "brain", "brain", "brain"],
                           "fname": ["a", "a", "a", "b", "b"], "slice": [0, 1, 0, 0, 0],
                           "family": ["U-Net", "U-Net", "U-Net", "U-Net", "l1"]})
    samples = setting_samples(scores, ["brain", "knee", "brain"],
                              {"knee": None, "brain": "/data/brain"})
    assert list(samples) == ["brain: U-Net", "brain: l1", "knee"]  # in order, once each
    assert samples["brain: U-Net"] == Sample("slice", 2, 2, data_root="/data/brain")
    assert samples["brain: l1"] == Sample("slice", 1, 1, data_root="/data/brain")  # fewer
    assert samples["knee"] == Sample("slice", 1, 2)  # file "a" of the knee set is its own
    with pytest.raises(ValueError, match="no scores of the setting 'hip'"):
        setting_samples(scores, ["hip"], {})
