"""Captions say the unit, N and data of every table and figure, and the check finds those
without."""

import pandas as pd
import pytest

from fnaf.captions import (
    Sample,
    caption_html,
    caption_problems,
    captioned,
    grouped_samples,
    sample,
)

SLICES = pd.DataFrame({"fname": ["a", "a", "b", "b", "b"], "slice": [1, 2, 1, 1, 3],
                       "label": ["x", "x", "x", "y", "x"], "loss": [0.1, 0.2, 0.3, 0.4, 0.5]})


def test_the_sample_is_counted_from_the_frame():
    assert sample(SLICES, "slice") == Sample("slice", volumes=2, slices=4)
    boxes = sample(SLICES, "box", data_root="/data/knee")
    assert (boxes.volumes, boxes.slices, boxes.boxes) == (2, 4, 5)
    patches = SLICES.assign(row=0, col=0)  # b slice 1 twice: one placement
    assert sample(patches.set_index(["fname", "slice"]), "patch").patches == 4
    assert sample(SLICES.set_index("slice"), "slice").slices == 4  # an index level counts too
    two_models = pd.concat([patches.assign(model="U-Net"), patches.assign(model="l1")])
    assert sample(two_models, "patch").patches == 4  # a placement once, however many models
    annotated = SLICES.rename(columns={"fname": "filename"})  # the annotation CSVs' name
    assert sample(annotated, "box").boxes == 5
    assert sample(SLICES, "slice").text() == ("unit: slice; N = 2 volumes, 4 slices; data: the "
                                              "embedded phantom (no data_root given)")
    assert boxes.text().endswith("N = 2 volumes, 4 slices, 5 boxes; data: fastMRI from "
                                 "/data/knee")
    assert Sample("volume", 1).counts() == "1 volume"
    per_volume = pd.DataFrame({"fname": ["a", "b", "a", "b"], "slices": [3, 4, 3, 4],
                               "model": ["U-Net", "U-Net", "l1", "l1"]})
    assert sample(per_volume, "volume") == Sample("volume", volumes=2, slices=7)


def test_models_scored_on_other_units_get_their_own_sample():
    frame = pd.concat([SLICES.assign(model="U-Net"), SLICES.assign(model="l1"),
                       SLICES.iloc[:2].assign(model="ConvDecoder")])
    assert grouped_samples(frame, "slice", "/data") == {
        "U-Net, l1": Sample("slice", 2, 4, data_root="/data"),
        "ConvDecoder": Sample("slice", 1, 2, data_root="/data")}
    assert list(grouped_samples(frame[frame.model != "ConvDecoder"], "slice")) == ["U-Net, l1"]


def test_bad_samples_are_named():
    with pytest.raises(ValueError, match="unit 'voxel'"):
        Sample("voxel", 3)
    with pytest.raises(ValueError, match=r"no \['fname', 'slice'\]"):
        sample(pd.DataFrame({"loss": [1.0]}), "slice")
    with pytest.raises(ValueError, match=r"no \['row', 'col'\] .* to count patches"):
        sample(SLICES, "patch")
    with pytest.raises(ValueError, match="own"):
        captioned(SLICES.style.set_caption("mine"), "Table.", Sample("slice", 1))._repr_html_()
    with pytest.raises(TypeError, match="a Sample, a mapping"):
        caption_html("Table.", 3)


def test_a_captioned_table_carries_its_sample_in_the_html():
    shown = captioned(SLICES, "Losses <per slice>.", sample(SLICES, "slice"))._repr_html_()
    assert '<caption class="fnaf-caption"><span class="fnaf-what">Losses &lt;per slice&gt;.' \
        in shown
    assert "N = 2 volumes, 4 slices" in shown and caption_problems(shown) == []
    styled = captioned(SLICES.style, "Two sets.", {"knee": Sample("volume", 2),
                                                   "brain": Sample("volume", 3)})._repr_html_()
    assert "knee: unit: volume; N = 2 volumes" in styled and "brain:" in styled
    assert caption_problems(styled) == []
    # equal counts are not the same images: each named part is said
    two = captioned(SLICES, "Two sets.", {"knee": Sample("slice", 2, 4),
                                          "brain": Sample("slice", 2, 4)})._repr_html_()
    assert "knee: unit: slice; N = 2 volumes, 4 slices; brain: unit: slice" in two
    assert two.count("data: the embedded phantom") == 1  # one source, said once
    apart = caption_html("Two roots.", {"knee": Sample("slice", 2, data_root="/k"),
                                         "brain": Sample("slice", 2, data_root="/b")})
    assert "knee: unit: slice; N = 2 volumes; data: fastMRI from /k; brain:" in apart
    assert repr(captioned(SLICES["loss"], "Losses.", "no images: the masks' geometry")
                ).startswith("Losses. no images: the masks' geometry\n")
    said = captioned(SLICES, "Masks.", "no images: the masks' geometry")._repr_html_()
    assert 'class="fnaf-no-sample">no images' in said and caption_problems(said) == []


def test_the_check_finds_uncaptioned_tables_and_figures():
    bare = SLICES._repr_html_()
    assert caption_problems(bare)[0].startswith("a table without a caption of its sample")
    figure = '<img src="a.png"/><p class="fnaf-caption"><span class="fnaf-sample">N</span></p>'
    assert caption_problems(figure) == []
    assert caption_problems('<img src="a.png"/>') == [
        "a figure without a caption beneath it (fnaf.captions.show_figure)"]
    # a caption belongs to the figure just above it, not to one before another image
    assert len(caption_problems('<img src="a.png"/>' + figure)) == 1
    assert len(caption_problems('<img src="a.png"/>' + bare)) == 2
    # a caption paragraph without its sample does not reach past the next image for one
    assert len(caption_problems('<img/><p class="fnaf-caption">x</p>' + figure)) == 1
