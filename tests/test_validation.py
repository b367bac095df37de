"""whole_number: the one check for "a whole number, not a bool, within bounds"."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.errors import ValidationError
from apps.core.validation import whole_number


@pytest.mark.parametrize("value", [True, False, 1.0, 2.5, "1", None, [1], 1j])
def test_anything_but_an_int_is_refused(value):
    with pytest.raises(ValidationError) as refused:
        whole_number(value, field="months", minimum=None)
    assert (refused.value.code, refused.value.param) == ("invalid", "months")


def test_below_the_minimum_and_above_the_maximum_are_refused():
    with pytest.raises(ValidationError, match="months is a whole number of at least 1"):
        whole_number(0, field="months", minimum=1)
    with pytest.raises(ValidationError, match="port is a whole number from 1 to 65535"):
        whole_number(65536, field="port", minimum=1, maximum=65535)
    assert whole_number(1, field="months", minimum=1) == 1
    assert whole_number(65535, field="port", minimum=1, maximum=65535) == 65535


def test_the_minimum_defaults_to_zero():
    assert whole_number(0, field="n") == 0
    with pytest.raises(ValidationError):
        whole_number(-1, field="n")


def test_the_callers_code_and_message_are_what_users_see():
    with pytest.raises(ValidationError) as refused:
        whole_number(True, field="amount", minimum=1, code="invalid_amount",
                     message="The amount is a whole number of minor units, at least 1.")
    assert refused.value.code == "invalid_amount"
    assert refused.value.param == "amount"
    assert refused.value.message == "The amount is a whole number of minor units, at least 1."


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.integers(), st.booleans(), st.floats(), st.text(max_size=5),
                       st.none()),
       minimum=st.none() | st.integers(-5, 5), maximum=st.none() | st.integers(-5, 5))
def test_accepted_exactly_when_an_int_within_the_bounds(value, minimum, maximum):
    expected = (type(value) is int
                and (minimum is None or value >= minimum)
                and (maximum is None or value <= maximum))
    try:
        got = whole_number(value, field="x", minimum=minimum, maximum=maximum)
    except ValidationError:
        assert not expected
    else:
        assert expected and got is value
