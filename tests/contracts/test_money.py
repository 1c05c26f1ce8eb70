from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from contracts.money import ZERO, Money, MoneyError

fens = st.integers(min_value=-(10**15), max_value=10**15)
factors = st.integers(min_value=-(10**6), max_value=10**6)


class Priced(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount_fen: Money


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1234.56", 123_456),
        ("1,234.56", 123_456),
        ("¥1,234.56", 123_456),
        ("￥1,234.56", 123_456),
        ("-¥1,234.56", -123_456),
        ("-0.5", -50),
        ("0.05", 5),
        ("100", 10_000),
        ("1,000,000", 100_000_000),
        ("  12.30 ", 1_230),
        ("0", 0),
        ("-0", 0),
        ("007", 700),
    ],
)
def test_from_yuan_reads_the_usual_spellings(text: str, fen: int) -> None:
    assert Money.from_yuan(text) == Money(fen)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1.234",  # a third decimal would have to be rounded
        "1.",
        ".5",
        "1,23.00",  # misplaced thousands separator
        "1234,567",
        "12a",
        "1e3",
        "+1",
        "--1",
        "¥-1",
        "nan",
        "inf",
        "1 000",
        "١٢٣",  # Arabic-Indic digits: int() would accept them, a yuan amount must not
        "9" * 41,
    ],
)
def test_from_yuan_refuses_anything_ambiguous(text: str) -> None:
    with pytest.raises(MoneyError) as caught:
        Money.from_yuan(text)
    assert caught.value.code == "invalid_amount"


@pytest.mark.parametrize("value", [1.5, 12, True, None, b"1.00"])
def test_from_yuan_refuses_non_text(value: object) -> None:
    with pytest.raises(MoneyError):
        Money.from_yuan(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1.0, True, False, "100", None])
def test_money_is_made_from_int_fen_only(value: object) -> None:
    with pytest.raises(MoneyError) as caught:
        Money(value)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)


def test_money_is_immutable() -> None:
    money = Money(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        money.fen = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fen", "shown", "yuan"),
    [
        (123_456, "¥1,234.56", "1234.56"),
        (-123_456, "-¥1,234.56", "-1234.56"),
        (0, "¥0.00", "0.00"),
        (5, "¥0.05", "0.05"),
        (-50, "-¥0.50", "-0.50"),
        (100_000_000_000, "¥1,000,000,000.00", "1000000000.00"),
    ],
)
def test_display_and_plain_yuan(fen: int, shown: str, yuan: str) -> None:
    money = Money(fen)
    assert str(money) == shown
    assert format(money) == shown
    assert f"{money}" == shown
    assert money.yuan_str == yuan


def test_format_spec_pads_the_displayed_text() -> None:
    assert f"{Money(100):>8}|" == "   ¥1.00|"


def test_capitals_come_from_amount_in_capitals() -> None:
    assert Money(10_000_000).capitals == "壹拾万元整"
    with pytest.raises(ValueError, match="between 0 and"):
        _ = Money(-1).capitals


@given(fens)
def test_display_text_parses_back_to_the_same_amount(fen: int) -> None:
    money = Money(fen)
    assert Money.from_yuan(str(money)) == money
    assert Money.from_yuan(format(money)) == money
    assert Money.from_yuan(money.yuan_str) == money


@given(fens, fens)
def test_addition_and_subtraction_match_integer_arithmetic(a: int, b: int) -> None:
    assert Money(a) + Money(b) == Money(a + b)
    assert Money(a) - Money(b) == Money(a - b)
    assert -Money(a) == Money(-a)
    assert abs(Money(a)) == Money(abs(a))


@given(fens, factors)
def test_multiplication_and_floor_division_match_integer_arithmetic(a: int, k: int) -> None:
    assert Money(a) * k == Money(a * k)
    assert k * Money(a) == Money(a * k)
    if k:
        assert Money(a) // k == Money(a // k)


@given(fens, fens)
def test_comparisons_match_integer_comparisons(a: int, b: int) -> None:
    assert (Money(a) < Money(b)) == (a < b)
    assert (Money(a) <= Money(b)) == (a <= b)
    assert (Money(a) == Money(b)) == (a == b)
    if a == b:
        assert hash(Money(a)) == hash(Money(b))


@given(st.lists(fens, max_size=20))
def test_sum_of_money_is_money_of_the_sum(amounts: list[int]) -> None:
    if amounts:
        assert sum(Money(a) for a in amounts) == Money(sum(amounts))
    assert sum((Money(a) for a in amounts), ZERO) == Money(sum(amounts))


def test_sum_of_no_money_needs_zero_money_as_start() -> None:
    # sum() of nothing returns its start untouched, so only a Money start gives Money back.
    nothing: list[Money] = []
    assert sum(nothing, ZERO) == ZERO
    assert isinstance(sum(nothing, ZERO), Money)


@pytest.mark.parametrize("other", [1, 1.0, True, "1"])
def test_money_does_not_mix_with_bare_numbers_in_addition(other: object) -> None:
    with pytest.raises(TypeError):
        _ = Money(1) + other  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = other + Money(1)  # type: ignore[operator]


@pytest.mark.parametrize("factor", [1.5, True, Money(2)])
def test_money_is_scaled_by_int_only(factor: object) -> None:
    with pytest.raises(TypeError):
        _ = Money(100) * factor  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Money(100) // factor  # type: ignore[operator]


def test_money_is_a_dict_key_and_falsy_when_zero() -> None:
    assert {Money(1): "a"}[Money(1)] == "a"
    assert not ZERO
    assert Money(-1)
    one_fen_as_int: object = 1
    assert Money(1) != one_fen_as_int


def test_pydantic_validates_int_fen_and_money() -> None:
    assert Priced(amount_fen=Money(5)).amount_fen == Money(5)
    assert Priced.model_validate({"amount_fen": 5}).amount_fen == Money(5)
    assert Priced.model_validate_json('{"amount_fen": 123456}').amount_fen == Money(123_456)


@pytest.mark.parametrize("value", [True, 1.0, 1.5, "100", None, [1]])
def test_pydantic_refuses_bool_float_and_strings(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Priced.model_validate({"amount_fen": value})
    assert caught.value.errors()[0]["type"] == "invalid_amount"


@pytest.mark.parametrize("raw", ["1.0", "true", '"100"', "1e2"])
def test_pydantic_refuses_non_integers_in_json(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Priced.model_validate_json(f'{{"amount_fen": {raw}}}')
    assert caught.value.errors()[0]["type"] == "invalid_amount"


def test_pydantic_serialises_to_int_fen() -> None:
    priced = Priced(amount_fen=Money(-250))
    assert json.loads(priced.model_dump_json()) == {"amount_fen": -250}
    assert priced.model_dump() == {"amount_fen": -250}
    assert Priced.model_validate(priced.model_dump()) == priced


def test_json_schema_is_an_integer() -> None:
    for mode in ("validation", "serialization"):
        schema = TypeAdapter(Money).json_schema(mode=mode)
        assert schema == {"type": "integer"}


@given(fens)
def test_pydantic_json_round_trip(fen: int) -> None:
    priced = Priced(amount_fen=Money(fen))
    assert Priced.model_validate_json(priced.model_dump_json()) == priced
