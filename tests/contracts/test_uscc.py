from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.uscc import (
    ALPHABET,
    WEIGHTS,
    Uscc,
    UsccError,
    compute_check_character,
    is_valid_uscc,
    make_uscc,
)

alphabet_chars = st.sampled_from(ALPHABET)
digits = st.sampled_from("0123456789")
first17s = st.builds(
    lambda head, division, body: head + division + body,
    st.text(alphabet_chars, min_size=2, max_size=2),
    st.text(digits, min_size=6, max_size=6),
    st.text(alphabet_chars, min_size=9, max_size=9),
)
valid_usccs = first17s.map(make_uscc)


def reference_check_character(first17: str) -> str:
    # Written straight from the standard's formula, separately from the module's version.
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    c18 = 31 - total % 31
    return ALPHABET[0 if c18 == 31 else c18]


class Bidder(BaseModel):
    uscc: Uscc


def test_weights_are_powers_of_three_mod_31() -> None:
    assert tuple(pow(3, i, 31) for i in range(17)) == WEIGHTS
    assert len(ALPHABET) == 31
    assert not set("IOZSV") & set(ALPHABET)


def test_widely_used_sample_validates() -> None:
    # The sample string used in many USCC validation write-ups; no claim about who holds it.
    assert is_valid_uscc("91350100M000100Y43")


@pytest.mark.parametrize(
    "first17",
    [
        "91110000100000000",  # company (9, 1) registered in Beijing (110000)
        "51310000MJ0000000",  # social organisation (5, 1) in Shanghai (310000)
        "12440000455858000",  # public institution (1, 2) in Guangdong (440000)
        "92320100MA0000000",  # individual business (9, 2) in Nanjing (320100)
    ],
)
def test_synthetic_codes_in_real_world_shape_validate(first17: str) -> None:
    uscc = first17 + reference_check_character(first17)
    assert is_valid_uscc(uscc)
    assert make_uscc(first17) == uscc


def test_hand_computed_check_characters() -> None:
    # 9·1 + 1·3 + 3·9 + 5·27 + 1·26 + M(21)·20 + 1·8 + Y(30)·30 + 4·28 = 1640; 1640 mod 31 = 28;
    # 31 - 28 = 3.
    assert compute_check_character("91350100M000100Y4") == "3"
    # Σ ≡ 0 mod 31 gives 31, which is written as 0.
    assert compute_check_character("00000000000000000") == "0"
    # Σ = 1 gives 30, the last character of the alphabet.
    assert compute_check_character("10000000000000000") == "Y"


def test_parse_normalises_case_and_spaces() -> None:
    assert Uscc.parse("  91350100m000100y43\n") == "91350100M000100Y43"
    assert isinstance(Uscc.parse("91350100M000100Y43"), Uscc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "18 characters, got 0"),
        ("91350100M000100Y4", "18 characters, got 17"),
        ("91350100M000100Y433", "18 characters, got 19"),
        ("91350100M000100I43", "'I' at position 16 is not in the USCC alphabet"),
        ("9135O100M000100Y43", "'O' at position 5 is not in the USCC alphabet"),
        ("91350100M000100Y4S", "'S' at position 18"),
        ("913501A0M000100Y43", "'A' at position 7 must be a digit"),
        ("91350100M000100Y44", "wrong check character '4' at position 18, expected '3'"),
    ],
)
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UsccError, match=message) as caught:
        Uscc.parse(text)
    assert caught.value.code == "invalid_uscc"
    assert not is_valid_uscc(text)


def test_constructor_does_not_normalise() -> None:
    # Only parse() reads outside text; Uscc(...) insists on the canonical form.
    with pytest.raises(UsccError):
        Uscc("91350100m000100y43")
    with pytest.raises(UsccError):
        Uscc(12345)  # type: ignore[arg-type]


@given(first17s)
def test_check_character_matches_the_standards_formula(first17: str) -> None:
    assert compute_check_character(first17) == reference_check_character(first17)


@given(valid_usccs)
def test_every_generated_valid_uscc_validates(uscc: Uscc) -> None:
    assert is_valid_uscc(uscc)
    assert Uscc.parse(uscc.lower()) == uscc
    assert uscc.division_code.isdigit()
    assert uscc.registration_authority + uscc.organisation_type + uscc.division_code == uscc[:8]
    assert uscc.organisation_code + uscc.check_character == uscc[8:]


@given(valid_usccs)
def test_every_single_character_substitution_is_caught(uscc: Uscc) -> None:
    for position in range(18):
        for char in ALPHABET:
            if char != uscc[position]:
                assert not is_valid_uscc(uscc[:position] + char + uscc[position + 1 :])


@given(valid_usccs)
def test_every_adjacent_transposition_of_different_characters_is_caught(uscc: Uscc) -> None:
    # Holds for all 17 adjacent pairs, including (17, 18): see the proof in contracts/uscc.py.
    for position in range(17):
        a, b = uscc[position], uscc[position + 1]
        if a != b:
            assert not is_valid_uscc(uscc[:position] + b + a + uscc[position + 2 :])


def test_adjacent_transpositions_are_caught_even_with_the_check_character() -> None:
    # Exhaustive over the last two characters for a fixed head: every valid (c17, c18) pair,
    # swapped, is invalid unless the two are equal.
    head = "91350100M000100Y"
    for c17 in ALPHABET:
        c18 = compute_check_character(head + c17)
        if c17 != c18:
            assert compute_check_character(head + c18) != c17


def test_is_a_str_usable_as_key_and_in_text() -> None:
    uscc = make_uscc("91350100M000100Y4")
    assert {"91350100M000100Y43": 1}[uscc] == 1
    assert f"USCC {uscc}" == "USCC 91350100M000100Y43"
    # deepcopy goes through __reduce_ex__ like pickle: the copy must come back a Uscc.
    copied = copy.deepcopy(uscc)
    assert copied == uscc
    assert type(copied) is Uscc


def test_make_uscc_refuses_bad_heads() -> None:
    with pytest.raises(UsccError, match="17 characters"):
        make_uscc("9135")
    with pytest.raises(UsccError, match="position 3"):
        make_uscc("91I50100M000100Y4")


def test_pydantic_validates_and_normalises() -> None:
    bidder = Bidder.model_validate_json('{"uscc": " 91350100m000100y43 "}')
    assert isinstance(bidder.uscc, Uscc)
    assert bidder.uscc == "91350100M000100Y43"
    assert bidder.model_dump_json() == '{"uscc":"91350100M000100Y43"}'


@pytest.mark.parametrize("value", ["91350100M000100Y44", "", 913501, None])
def test_pydantic_refuses_invalid(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Bidder.model_validate({"uscc": value})
    if isinstance(value, str):
        assert caught.value.errors()[0]["type"] == "invalid_uscc"


def test_json_schema_is_an_18_character_string() -> None:
    schema = TypeAdapter(Uscc).json_schema()
    assert schema["type"] == "string"
    assert schema["minLength"] == schema["maxLength"] == 18
