import math

from fnaf.verdicts import (
    VERDICTS,
    claim_verdict,
    comparison_verdict,
    count_verdict,
    difference_verdict,
    direction_verdict,
    equivalence_verdict,
    level_verdict,
    threshold_verdict,
    unmeasured_verdict,
)


def test_a_comparison_is_read_by_its_test_against_the_papers_finding():
    assert comparison_verdict("lower", True, "lower", True) == "reproduced"
    assert comparison_verdict("lower", True, "lower", False) == "direction only"
    assert comparison_verdict("lower", True, "higher", False) == "not reproduced"
    assert comparison_verdict("lower", True, "higher", True) == "not reproduced"
    # the paper found no effect: any direction without an effect shown agrees with it
    assert comparison_verdict("lower", False, "higher", False) == "reproduced"
    assert comparison_verdict("lower", False, "lower", True) == "not reproduced"


def test_a_level_is_reproduced_only_inside_our_interval_and_with_its_direction_shown():
    assert level_verdict(30.0, 20.0, 40.0, True) == "reproduced"
    assert level_verdict(88.9, 20.0, 40.0, True) == "direction only"
    # the interval is checked first: a paper value inside it is never "not reproduced", even
    # where our interval does not show the direction (paper r -0.14 in our [-0.30, +0.05])
    assert level_verdict(30.0, 20.0, 40.0, False) == "reproduced"
    assert level_verdict(-0.14, -0.30, 0.05, False) == "reproduced"
    # outside the interval with the direction not shown: not reproduced
    assert level_verdict(-0.14, 0.10, 0.40, False) == "not reproduced"
    assert level_verdict(math.nan, 20.0, 40.0, True) == "not comparable"
    assert level_verdict(None, 20.0, 40.0, True) == "not comparable"
    # a level without a direction (an SSIM): inside or not
    assert level_verdict(30.0, 20.0, 40.0, None) == "reproduced"
    assert level_verdict(88.9, 20.0, 40.0, None) == "not reproduced"


def test_the_claim_is_reproduced_only_with_fewer_hits_by_the_test_at_the_same_quality():
    assert claim_verdict(True, 0.01, -0.004) == "reproduced"
    assert claim_verdict(True, 0.2, -0.004) == "direction only"  # not shown by the test
    assert claim_verdict(True, 0.01, -0.015) == "direction only"  # SSIM lost
    assert claim_verdict(False, 0.01, 0.0) == "not reproduced"
    assert {claim_verdict(*args) for args in [(True, 0.01, 0.0), (True, 0.2, 0.0),
                                             (False, 0.0, 0.0)]} < set(VERDICTS)


def test_an_untested_paper_comparison_is_read_by_direction_never_as_no_effect():
    # Table 4's "All" row: the paper's means fall (B-Box I-RIM 0.04649 -> 0.04232) without a test
    assert direction_verdict("lower", "lower", True) == "reproduced"
    assert direction_verdict("lower", "lower", False) == "direction only"
    assert direction_verdict("lower", "higher", True) == "not reproduced"
    assert direction_verdict("lower", "higher", False) == "not reproduced"
    # the rule that reads an unbolded cell as "no effect found" gives the opposite verdict
    assert comparison_verdict("lower", False, "lower", True) == "not reproduced"


def test_the_register_rules_on_known_numbers():
    assert threshold_verdict(0.995, 0.99) == "reproduced"
    assert threshold_verdict(0.98, 0.99) == "not reproduced"
    assert count_verdict(199, 199) == "reproduced" and count_verdict(199, 10) == "not reproduced"
    # "similar" within a margin of 0.02: shown inside, shown outside, or neither
    assert equivalence_verdict(-0.01, 0.015, 0.02) == "reproduced"
    assert equivalence_verdict(0.03, 0.05, 0.02) == "not reproduced"
    assert equivalence_verdict(-0.01, 0.05, 0.02) == "direction only"
    assert unmeasured_verdict() == "not comparable"


def test_an_untested_difference_is_read_by_direction_on_enough_volumes():
    assert difference_verdict(-0.03, -0.04, -0.01, "lower", 6) == "reproduced"
    assert difference_verdict(-0.03, -0.06, 0.01, "lower", 6) == "direction only"
    assert difference_verdict(0.02, 0.01, 0.03, "lower", 6) == "not reproduced"
    assert difference_verdict(0.02, 0.01, 0.03, "higher", 6) == "reproduced"
    assert difference_verdict(-0.03, -0.04, -0.01, "lower", 2) == "not comparable"
