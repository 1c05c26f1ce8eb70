"""Escrow sub-account numbers: layout, MOD 97-10 check digits, typed refusals, error detection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.finance.subaccounts import (
    MAX_SERIAL,
    Subaccount,
    SubaccountError,
    is_valid_subaccount,
    make_subaccount,
    mod97_check_digits,
    parse_subaccount,
)

prefixes = st.text(alphabet="0123456789", min_size=1, max_size=20)
serials = st.integers(min_value=0, max_value=MAX_SERIAL)


def test_layout_is_prefix_then_eight_digit_serial_then_two_check_digits() -> None:
    number = make_subaccount("6222021001", 42)
    assert number[:10] == "6222021001"
    assert number[10:18] == "00000042"
    assert int(number) % 97 == 1
    assert parse_subaccount(number) == Subaccount("6222021001", 42)


def test_check_digits_follow_iso_7064_mod_97_10() -> None:
    # The IBAN check of GB82 WEST 1234 5698 7654 32 computed over its numeric rearrangement.
    assert mod97_check_digits("32142829123456987654321611") == "82"


def test_spaces_between_digit_groups_are_harmless() -> None:
    number = make_subaccount("6222021001", 123456)
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    assert parse_subaccount(f" {grouped} ") == Subaccount("6222021001", 123456)


@pytest.mark.parametrize(
    "text",
    ["", "62220210010000004", "6222O21001000000421", "６２２２０２１００１００００００４２", "1" * 31],
)
def test_malformed_numbers_are_refused_with_a_code(text: str) -> None:
    with pytest.raises(SubaccountError) as raised:
        parse_subaccount(text)
    assert raised.value.code == "invalid_subaccount"
    assert not is_valid_subaccount(text)


def test_a_number_of_another_escrow_account_is_refused_when_the_prefix_is_given() -> None:
    number = make_subaccount("1001", 7)
    assert is_valid_subaccount(number, prefix="1001")
    assert not is_valid_subaccount(number, prefix="1002")


@pytest.mark.parametrize(("prefix", "serial"), [("", 1), ("12a", 1), ("1" * 21, 1), ("1", -1), ("1", 10**8)])
def test_impossible_prefixes_and_serials_are_refused(prefix: str, serial: int) -> None:
    with pytest.raises(SubaccountError):
        make_subaccount(prefix, serial)


@given(prefixes, serials)
def test_every_number_made_parses_back(prefix: str, serial: int) -> None:
    number = make_subaccount(prefix, serial)
    assert is_valid_subaccount(number)
    assert parse_subaccount(number) == Subaccount(prefix, serial)


@given(prefixes, serials)
def test_every_single_digit_error_is_detected(prefix: str, serial: int) -> None:
    number = make_subaccount(prefix, serial)
    for position, original in enumerate(number):
        for digit in "0123456789":
            if digit != original:
                assert not is_valid_subaccount(number[:position] + digit + number[position + 1 :])


@given(prefixes, serials)
def test_every_adjacent_transposition_is_detected(prefix: str, serial: int) -> None:
    number = make_subaccount(prefix, serial)
    for position in range(len(number) - 1):
        left, right = number[position], number[position + 1]
        if left != right:
            swapped = number[:position] + right + left + number[position + 2 :]
            assert not is_valid_subaccount(swapped)


def test_the_swap_luhn_misses_is_detected() -> None:
    number = make_subaccount("1", 90)  # "1" "00000090" + check
    swapped = number.replace("0000009", "0000090", 1)[: len(number)]
    assert swapped != number
    assert not is_valid_subaccount(swapped)
