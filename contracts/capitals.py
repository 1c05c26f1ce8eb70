"""Amounts in Chinese financial capitals (大写金额), as printed on guarantee letters.

Source: 中国人民银行《正确填写票据和结算凭证的基本规定》(银发〔1997〕393号), 二、(二)–(四).
Where the rules allow two spellings, this module always produces the same one, so that one amount
has exactly one spelling (tests parse every output back and check it is the only one):

- Digits 零壹贰叁肆伍陆柒捌玖; units 拾佰仟, 万 and 亿 for the groups of four digits; 元角分.
- "壹" is always written before 拾, also at the head (壹拾万元整, not 拾万元整) — rule (二).
- "整" follows 元 when there is no 角 and no 分, and follows 角 when there is no 分; nothing follows 分.
  The rule makes "整" after 角 optional; we always write it so nothing can be appended.
- In the yuan part one 零 stands for each run of zeros that has a non-zero digit on both sides, also
  across the 万 and 亿 groups (壹佰零伍元, 陆仟零柒元, 壹拾万零柒仟元, 壹亿零伍佰万元, 壹亿零伍元);
  trailing zeros get none, and a group of four zeros drops its 万 (壹亿零伍元). Rule (四)1–2, and for
  a zero in the 万 place the "写零" option of (四)3.
- A zero in the 元 place before a non-zero 角 gets no 零 (壹仟陆佰捌拾元叁角贰分): the "不写零"
  option of (四)3, because 元 already separates the two parts.
- 角 zero and 分 non-zero: "元零X分" (壹万陆仟肆佰零玖元零贰分) — rule (四)4, mandatory.
- Zero is 零元整. Below one yuan there is no yuan part at all: 叁角整, 叁角伍分, 伍分 (no "零元",
  and no 零 before 分, since there is no 元 for it to follow).
- The "人民币" prefix is the caller's (the letter template prints it), not part of the amount.

The range is 0 to 10**12 fen (壹佰亿元整): more than any bid deposit (at most 2% of a contract).
"""

from __future__ import annotations

from typing import Final

MAX_FEN: Final = 10**12

_DIGITS: Final = "零壹贰叁肆伍陆柒捌玖"
_PLACE_UNITS: Final = ("仟", "佰", "拾", "")
_GROUP_UNITS: Final = ("亿", "万", "")


def amount_in_capitals(fen: int) -> str:
    """Return the amount in fen as Chinese financial capitals, e.g. 10_530 -> "壹佰零伍元叁角整"."""
    # bool is an int subclass; True fen is a bug at the call site, not one fen.
    if isinstance(fen, bool) or not isinstance(fen, int):
        # ValueError, not TypeError: callers handle one error type for every bad amount.
        raise ValueError(f"amount in fen must be an int, got {type(fen).__name__}")  # noqa: TRY004
    if not 0 <= fen <= MAX_FEN:
        raise ValueError(f"amount in fen must be between 0 and {MAX_FEN}, got {fen}")
    if fen == 0:
        return "零元整"
    yuan, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    head = _yuan_capitals(yuan) + "元" if yuan else ""
    if jiao == 0 and fen_digit == 0:
        return head + "整"
    if fen_digit == 0:
        return f"{head}{_DIGITS[jiao]}角整"
    if jiao == 0:
        return f"{head}{'零' if yuan else ''}{_DIGITS[fen_digit]}分"
    return f"{head}{_DIGITS[jiao]}角{_DIGITS[fen_digit]}分"


def _yuan_capitals(yuan: int) -> str:
    # Groups of four digits, highest first; the 亿 group never exceeds 100 within MAX_FEN.
    groups = (yuan // 10**8, yuan // 10**4 % 10**4, yuan % 10**4)
    parts: list[str] = []
    zeros_pending = False
    for group, group_unit in zip(groups, _GROUP_UNITS, strict=True):
        if group == 0:
            zeros_pending = zeros_pending or bool(parts)
            continue
        for digit_char, place_unit in zip(f"{group:04d}", _PLACE_UNITS, strict=True):
            digit = int(digit_char)
            if digit == 0:
                # Zeros before the first digit are leading zeros, not a run inside the amount.
                zeros_pending = zeros_pending or bool(parts)
                continue
            if zeros_pending:
                parts.append("零")
                zeros_pending = False
            parts.append(_DIGITS[digit] + place_unit)
        parts.append(group_unit)
    return "".join(parts)
