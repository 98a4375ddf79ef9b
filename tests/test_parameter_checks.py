"""List parameters are checked before any work: non-empty, known values, pairs of equal length."""

import pytest

from fnaf.runs import SIZE_FAMILIES, check_lams, check_list, check_paired


def test_check_list_refuses_empty_non_lists_and_unknown_values():
    check_list("methods", ["varnet", "unet"], SIZE_FAMILIES)
    check_list("lams", (1e-3,))
    with pytest.raises(ValueError, match=r"methods must be a non-empty list, not \[\]; "
                                         r"accepted: \['varnet', 'unet'\]"):
        check_list("methods", [], SIZE_FAMILIES)
    with pytest.raises(ValueError, match="lams must be a non-empty list, not 0.001"):
        check_list("lams", 1e-3)
    with pytest.raises(ValueError, match=r"methods holds unknown values \['irim'\]"):
        check_list("methods", ["varnet", "irim"], SIZE_FAMILIES)


def test_check_paired_names_both_lists():
    check_paired(accelerations=[4, 8], center_fractions=[0.08, 0.04])
    with pytest.raises(ValueError, match=r"accelerations and center_fractions pair entry by "
                                         r"entry, but accelerations=\[4\], center_fractions="
                                         r"\[0.08, 0.04\] differ in length"):
        check_paired(accelerations=[4], center_fractions=[0.08, 0.04])
    with pytest.raises(ValueError, match="center_fractions must be a non-empty list"):
        check_paired(accelerations=[4], center_fractions=[])


def test_check_lams_refuses_empty_sweeps_and_negative_or_non_numbers():
    check_lams([0, 1e-4, 1e-3])
    with pytest.raises(ValueError, match=r"lams must be a non-empty list, not \[\]"):
        check_lams([])
    with pytest.raises(ValueError, match=r"lams holds -0.1; each λ must be a number >= 0"):
        check_lams([1e-3, -0.1])
    with pytest.raises(ValueError, match=r"lams holds True; each λ must be a number >= 0"):
        check_lams([True])
