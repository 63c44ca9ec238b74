"""api/strict_json.py: the same values as json.loads, except that a repeated key is refused
with its path, however deep."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api import strict_json

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_without_repeats_it_is_json_loads(value: Any) -> None:
    text = json.dumps(value)
    assert strict_json.loads(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('{"a": 1, "a": 2}', [(("a",), 2)]),
        ('{"a": 1, "b": 2, "a": 3, "a": 4}', [(("a",), 3)]),
        ('[{"x": 1}, {"x": {"y": 1, "y": 2}}]', [((1, "x", "y"), 2)]),
        (
            '{"p": {"c": [{}, {"k": 1, "k": 1}]}, "o": {"f": 1, "f": 2}}',
            [(("p", "c", 1, "k"), 2), (("o", "f"), 2)],
        ),
        ('{"o": {"f": 1}, "o": {"f": 2, "f": 3}}', [(("o",), 2), (("o", "f"), 2)]),
    ],
    ids=["top", "three-times", "in-a-list", "two-places-document-order", "repeat-inside-repeat"],
)
def test_every_repeated_key_is_found_with_its_path(text: str, found: list[tuple[Any, int]]) -> None:
    with pytest.raises(strict_json.DuplicateKeys) as caught:
        strict_json.loads(text)
    assert caught.value.found == found


def test_paths_read_as_fields() -> None:
    assert strict_json.dotted(("patient", "conditions", 2, "code")) == (
        "patient.conditions[2].code"
    )
    assert strict_json.dotted(()) == "body"


def test_a_syntax_error_is_reported_as_json_reports_it() -> None:
    with pytest.raises(json.JSONDecodeError):
        strict_json.loads('{"a": 1, "a": ')


LONG = "7" * 4301  # one digit more than Python converts by default


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ('{"n": ' + LONG + "}", LONG),
        ("[1, -" + LONG + "]", "-" + LONG),
        (
            '{"s": "' + "8" * 5000 + '", "t": "\\"' + "8" * 5000 + '", "n": ' + LONG + "}",
            LONG,
        ),
        ('{"f": 1.' + "8" * 5000 + ', "n": ' + LONG + "}", LONG),
    ],
    ids=["integer", "negative-in-a-list", "after-strings-of-digits", "after-a-long-float"],
)
def test_an_integer_over_the_interpreters_digit_limit_is_a_syntax_error_where_it_starts(
    text: str, number: str
) -> None:
    """Python refuses to convert such an integer with a ValueError that names no position and
    advises a setting; callers report a JSONDecodeError, so it becomes one, pointing at it."""
    with pytest.raises(json.JSONDecodeError) as raised:
        strict_json.loads(text)
    assert raised.value.msg == "Number with more than 4300 digits"
    assert raised.value.pos == text.index(number)


@pytest.mark.parametrize(
    "text",
    ['{"n": ' + "9" * 4300 + "}", '{"f": 1.' + "9" * 5000 + "}", '{"s": "' + "9" * 5000 + '"}'],
    ids=["at-the-limit", "a-long-float", "digits-in-a-string"],
)
def test_long_numbers_the_interpreter_converts_are_read(text: str) -> None:
    assert strict_json.loads(text) == json.loads(text)


def test_a_refused_constant_is_not_taken_for_a_long_integer() -> None:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON number")

    with pytest.raises(ValueError, match="NaN is not a JSON number") as raised:
        strict_json.loads('{"n": NaN}', parse_constant=refuse)
    assert not isinstance(raised.value, json.JSONDecodeError)
