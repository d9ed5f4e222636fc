"""The reward of DESIGN.md."""

from verm.reward import reward


def test_nothing_rendered_is_zero():
    assert reward([], rendered=False) == 0.0


def test_equivalent_is_two_and_severity_lowers_it():
    assert reward([], rendered=True) == 2.0
    assert reward([3], rendered=True) == 1.0 + (1 - 3 / 50)
    assert reward([1, 1, 1], rendered=True) < reward([1], rendered=True)
    assert reward([3] * 30, rendered=True) == 1.0  # clipped: still better than not rendering
