import math

from fnaf.verdicts import VERDICTS, claim_verdict, comparison_verdict, level_verdict


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
    assert level_verdict(30.0, 20.0, 40.0, False) == "not reproduced"
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
