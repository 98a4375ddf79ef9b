"""Captions say the unit, N and data of every table and figure, and the check finds those
without."""

import pandas as pd
import pytest

from fnaf.captions import Sample, caption_html, caption_problems, captioned, sample

SLICES = pd.DataFrame({"fname": ["a", "a", "b", "b", "b"], "slice": [1, 2, 1, 1, 3],
                       "label": ["x", "x", "x", "y", "x"], "loss": [0.1, 0.2, 0.3, 0.4, 0.5]})


def test_the_sample_is_counted_from_the_frame():
    assert sample(SLICES, "slice") == Sample("slice", volumes=2, slices=4)
    boxes = sample(SLICES, "box", data_root="/data/knee")
    assert (boxes.volumes, boxes.slices, boxes.boxes) == (2, 4, 5)
    assert sample(SLICES.set_index(["fname", "slice"]), "patch").patches == 5
    assert sample(SLICES, "slice").text() == ("unit: slice; N = 2 volumes, 4 slices; data: the "
                                              "embedded phantom (no data_root given)")
    assert boxes.text().endswith("N = 2 volumes, 4 slices, 5 boxes; data: fastMRI from "
                                 "/data/knee")
    assert Sample("volume", 1).counts() == "1 volume"
    per_volume = pd.DataFrame({"fname": ["a", "b"], "slices": [3, 4], "SSIM": [0.8, 0.9]})
    assert sample(per_volume, "volume") == Sample("volume", volumes=2, slices=7)


def test_bad_samples_are_named():
    with pytest.raises(ValueError, match="unit 'voxel'"):
        Sample("voxel", 3)
    with pytest.raises(ValueError, match="no fname column"):
        sample(pd.DataFrame({"loss": [1.0]}), "slice")
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
    same = captioned(SLICES, "One set.", {"U-Net": Sample("slice", 2, 4),
                                          "I-RIM": Sample("slice", 2, 4)})._repr_html_()
    assert "U-Net" not in same and "unit: slice; N = 2 volumes, 4 slices" in same
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
