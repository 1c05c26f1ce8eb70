"""Chinese financial capitals: a strict, independently written parser reads every spelling back.

The parser does not share code or structure with contracts.capitals: it works on absolute decimal
places (10**n) instead of groups of four, and checks the 零 rule as "exactly one 零 between two
written digits whose places are not adjacent, none otherwise". A spelling it accepts is therefore in
the one canonical form documented in contracts/capitals.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.capitals import MAX_FEN, amount_in_capitals

_DIGIT_VALUES = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖") if i}
_PLACE_OF_UNIT = {"拾": 1, "佰": 2, "仟": 3}
_GROUP_OFFSET = {"万": 4, "亿": 8}
ZERO = "零"


class CapitalsSyntaxError(ValueError):
    pass


def parse_capitals(text: str) -> int:
    """Parse a canonical capitals string back to fen; raise CapitalsSyntaxError on anything else."""
    if text == "零元整":
        return 0
    yuan_text, has_yuan, fraction_text = text.rpartition("元")
    if not has_yuan:
        yuan_text, fraction_text = "", text
    elif not yuan_text:
        raise CapitalsSyntaxError("元 without a yuan amount")
    yuan = _parse_yuan(yuan_text) if has_yuan else 0
    return yuan * 100 + _parse_fraction(fraction_text, has_yuan=bool(has_yuan))


def _parse_fraction(text: str, *, has_yuan: bool) -> int:
    if text == "整" and has_yuan:
        return 0
    if len(text) == 3 and text[1] == "角" and text[2] == "整":
        return 10 * _digit(text[0])
    if len(text) == 4 and text[1] == "角" and text[3] == "分":
        return 10 * _digit(text[0]) + _digit(text[2])
    # 零 before 分 marks the empty 角 place, and only exists after a 元.
    if has_yuan and len(text) == 3 and text[0] == ZERO and text[2] == "分":
        return _digit(text[1])
    if not has_yuan and len(text) == 2 and text[1] == "分":
        return _digit(text[0])
    raise CapitalsSyntaxError(f"bad jiao/fen part {text!r}")


def _digit(char: str) -> int:
    if char not in _DIGIT_VALUES:
        raise CapitalsSyntaxError(f"expected a non-zero digit, got {char!r}")
    return _DIGIT_VALUES[char]


def _parse_yuan(text: str) -> int:
    # Items are (digit, absolute place), with (0, -1) for a written 零; a group unit (万, 亿) shifts
    # the places of the digits written since the previous group unit.
    items: list[tuple[int, int]] = []
    pending: list[tuple[int, int]] = []
    last_group_offset = 99

    def close_group(offset: int) -> None:
        nonlocal pending, last_group_offset
        if not any(place >= 0 for _, place in pending) or pending[-1][1] < 0:
            raise CapitalsSyntaxError("a group needs digits and cannot end with 零")
        if offset >= last_group_offset:
            raise CapitalsSyntaxError("groups must decrease")
        items.extend((digit, place + offset if place >= 0 else place) for digit, place in pending)
        pending = []
        last_group_offset = offset

    i = 0
    while i < len(text):
        char = text[i]
        i += 1
        if char == ZERO:
            pending.append((0, -1))
        elif char in _DIGIT_VALUES:
            place = 0
            if i < len(text) and text[i] in _PLACE_OF_UNIT:
                place = _PLACE_OF_UNIT[text[i]]
                i += 1
            written = [p for _, p in pending if p >= 0]
            if written and written[-1] <= place:
                raise CapitalsSyntaxError("places inside a group must decrease")
            pending.append((_DIGIT_VALUES[char], place))
        elif char in _GROUP_OFFSET:
            close_group(_GROUP_OFFSET[char])
        else:
            raise CapitalsSyntaxError(f"unexpected {char!r}")
    if pending:
        close_group(0)
    return _check_zeros_and_sum(items)


def _check_zeros_and_sum(items: list[tuple[int, int]]) -> int:
    digits = [(digit, place) for digit, place in items if place >= 0]
    if not items or items[0][1] < 0 or items[-1][1] < 0:
        raise CapitalsSyntaxError("零 cannot start or end the yuan part")
    zeros_between = 0
    previous_place: int | None = None
    for _digit_value, place in items:
        if place < 0:
            zeros_between += 1
            continue
        if previous_place is not None:
            if place >= previous_place:
                raise CapitalsSyntaxError("places must decrease")
            expected = 1 if previous_place - place >= 2 else 0
            if zeros_between != expected:
                raise CapitalsSyntaxError(
                    f"between places {previous_place} and {place} expected {expected} 零, got {zeros_between}"
                )
        zeros_between = 0
        previous_place = place
    return sum(digit * 10**place for digit, place in digits)


amounts = st.integers(min_value=0, max_value=MAX_FEN)
# Many zeros are where the rules get interesting: build amounts from sparse digits as well.
sparse_amounts = st.lists(st.tuples(st.integers(0, 12), st.integers(1, 9)), min_size=0, max_size=4).map(
    lambda places: min(MAX_FEN, sum(d * 10**p for p, d in dict(places).items()))
)


HAND_CHECKED = [
    (0, "零元整"),
    (1, "壹分"),
    (5, "伍分"),
    (30, "叁角整"),
    (35, "叁角伍分"),
    (100, "壹元整"),
    (101, "壹元零壹分"),
    (110, "壹元壹角整"),
    (1_000, "壹拾元整"),
    (1_005, "壹拾元零伍分"),
    (10_530, "壹佰零伍元叁角整"),
    (32_504, "叁佰贰拾伍元零肆分"),  # rule (四)4 example
    (140_950, "壹仟肆佰零玖元伍角整"),  # rule (四)1 example
    (600_714, "陆仟零柒元壹角肆分"),  # rule (四)2 example
    (168_032, "壹仟陆佰捌拾元叁角贰分"),  # rule (四)3 example, second spelling
    (1_000_000, "壹万元整"),
    (1_000_500, "壹万零伍元整"),
    (1_005_000, "壹万零伍拾元整"),
    (1_640_902, "壹万陆仟肆佰零玖元零贰分"),  # rule (四)4 example
    (10_000_000, "壹拾万元整"),
    (10_010_000, "壹拾万零壹佰元整"),
    (10_700_053, "壹拾万零柒仟元伍角叁分"),  # rule (四)3 example, second spelling
    (11_000_000, "壹拾壹万元整"),
    (100_000_001, "壹佰万元零壹分"),
    (1_000_000_000, "壹仟万元整"),
    (1_001_000_000, "壹仟零壹万元整"),
    (10_000_000_000, "壹亿元整"),
    (10_000_000_500, "壹亿零伍元整"),
    (10_001_000_000, "壹亿零壹万元整"),
    (10_500_000_000, "壹亿零伍佰万元整"),
    (10_000_010_010, "壹亿零壹佰元壹角整"),
    (12_345_678_910, "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角整"),
    (100_000_000_000, "壹拾亿元整"),
    (999_999_999_999, "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    (MAX_FEN, "壹佰亿元整"),
]


@pytest.mark.parametrize(("fen", "capitals"), HAND_CHECKED)
def test_hand_checked_examples(fen: int, capitals: str) -> None:
    assert amount_in_capitals(fen) == capitals
    assert parse_capitals(capitals) == fen


@given(amounts)
def test_capitals_round_trip_through_the_parser(fen: int) -> None:
    assert parse_capitals(amount_in_capitals(fen)) == fen


@given(sparse_amounts)
def test_capitals_of_amounts_with_many_zeros_round_trip(fen: int) -> None:
    assert parse_capitals(amount_in_capitals(fen)) == fen


@given(st.sets(amounts | sparse_amounts, min_size=2, max_size=50))
def test_different_amounts_never_share_a_spelling(sample: set[int]) -> None:
    spellings = {amount_in_capitals(fen) for fen in sample}
    assert len(spellings) == len(sample)


def test_every_amount_below_one_thousand_yuan_has_its_own_spelling() -> None:
    spellings = {amount_in_capitals(fen) for fen in range(100_000)}
    assert len(spellings) == 100_000


@given(amounts)
def test_spelling_has_no_double_zero_and_ends_with_a_closing_unit(fen: int) -> None:
    capitals = amount_in_capitals(fen)
    assert "零零" not in capitals
    assert capitals.endswith(("整", "分"))
    assert not capitals.endswith("分整")


@pytest.mark.parametrize("bad", [-1, MAX_FEN + 1, -(10**12)])
def test_amount_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="between 0 and"):
        amount_in_capitals(bad)


@pytest.mark.parametrize("bad", [True, False, 1.0, "100", None])
def test_non_int_amount_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="must be an int"):
        amount_in_capitals(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "wrong",
    [
        "拾万元整",  # 壹 must be written before 拾
        "壹佰伍元整",  # missing 零 for the inner zero
        "壹佰零零伍元整",  # one 零 per run of zeros
        "壹拾万柒仟元伍角叁分",  # our spelling writes 零 in the 万 place
        "壹仟陆佰捌拾元零叁角贰分",  # and no 零 between 元 and 角
        "壹元贰分",  # 零 is mandatory before 分 when 角 is zero
        "零元伍分",  # below one yuan there is no yuan part
        "壹元",  # 整 is required
        "壹元伍角",  # 整 after 角 too
        "壹元伍角贰分整",
        "壹拾零元整",  # no trailing 零
        "壹万万元整",
        "壹亿零万元整",
    ],
)
def test_parser_rejects_non_canonical_spellings(wrong: str) -> None:
    # The round-trip property is only as strong as the parser is strict.
    with pytest.raises(CapitalsSyntaxError):
        parse_capitals(wrong)
