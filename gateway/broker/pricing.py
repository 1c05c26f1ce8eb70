"""Fee schedules: what a guarantee costs, in integer fen. Pure; no float anywhere.

Rates are integers in parts per million of the amount (ppm): 1% = 10_000 ppm, 2‰ = 2_000 ppm.

Two shapes (per institution and product, stored as JSON with the institution):
- ``flat``: ``amount × rate`` with a minimum (e.g. 2‰, at least ¥300).
- ``tiered``: marginal brackets, read the way domain.md's example is written ("0.8% on the part
  above ¥100k"): each bracket's rate applies only to the part of the amount inside that bracket, and
  the parts add up. The example schedule (`DOMAIN_TIERED`): under ¥100k 1% (minimum ¥300); the part
  from ¥100k to ¥1m at 0.8%; from ¥1m to ¥5m at 0.6%; from ¥5m to ¥50m at 0.4%. Amounts above the
  last bracket are not quoted (outside the schedule).

Rounding, once and at the end: the exact premium is ``Σ part × ppm / 1_000_000`` fen; we sum the
integer numerators and divide once, rounding half up to the fen (ROUND_HALF_UP, as Chinese banks do for
fees). Then the minimum applies, then the center's cap: a center may cap the rate (e.g. 3‰), and the
cap is regulatory, so it wins even over an institution's minimum (cap rounds down, never over it).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

PPM: Final = 1_000_000


class OutsideSchedule(ValueError):
    """The amount is outside what this schedule prices."""


class _Schedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FlatRate(_Schedule):
    type: Literal["flat"] = "flat"
    rate_ppm: Annotated[int, Field(strict=True, gt=0, le=PPM)]
    minimum_fen: Annotated[int, Field(strict=True, ge=0)] = 0

    def premium_fen(self, amount_fen: int) -> int:
        _check_amount(amount_fen)
        return max(_divide_half_up(amount_fen * self.rate_ppm), self.minimum_fen)


class Bracket(_Schedule):
    up_to_fen: Annotated[int, Field(strict=True, gt=0)]
    rate_ppm: Annotated[int, Field(strict=True, gt=0, le=PPM)]


class Tiered(_Schedule):
    type: Literal["tiered"] = "tiered"
    brackets: Annotated[tuple[Bracket, ...], Field(min_length=1)]
    minimum_fen: Annotated[int, Field(strict=True, ge=0)] = 0

    @model_validator(mode="after")
    def _ascending(self) -> Tiered:
        uppers = [bracket.up_to_fen for bracket in self.brackets]
        if uppers != sorted(set(uppers)):
            raise ValueError("bracket upper bounds must be strictly ascending")
        return self

    def premium_fen(self, amount_fen: int) -> int:
        _check_amount(amount_fen)
        if amount_fen > self.brackets[-1].up_to_fen:
            raise OutsideSchedule(f"{amount_fen} fen is above the schedule's last bracket")
        numerator, lower = 0, 0
        for bracket in self.brackets:
            part = min(amount_fen, bracket.up_to_fen) - lower
            if part <= 0:
                break
            numerator += part * bracket.rate_ppm
            lower = bracket.up_to_fen
        return max(_divide_half_up(numerator), self.minimum_fen)


FeeSchedule = Annotated[FlatRate | Tiered, Field(discriminator="type")]
_SCHEDULE: Final = TypeAdapter[FlatRate | Tiered](FeeSchedule)

YUAN: Final = 100
DOMAIN_TIERED: Final = Tiered(
    brackets=(
        Bracket(up_to_fen=100_000 * YUAN, rate_ppm=10_000),
        Bracket(up_to_fen=1_000_000 * YUAN, rate_ppm=8_000),
        Bracket(up_to_fen=5_000_000 * YUAN, rate_ppm=6_000),
        Bracket(up_to_fen=50_000_000 * YUAN, rate_ppm=4_000),
    ),
    minimum_fen=300 * YUAN,
)


def parse_schedule(value: object) -> FlatRate | Tiered:
    """A schedule from its JSON value (dict) or JSON text."""
    if isinstance(value, str | bytes):
        return _SCHEDULE.validate_json(value)
    return _SCHEDULE.validate_python(value)


def schedule_json(schedule: FlatRate | Tiered) -> str:
    return schedule.model_dump_json()


def _check_amount(amount_fen: int) -> None:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise OutsideSchedule(f"an amount to price is a positive integer of fen, got {amount_fen!r}")


def _divide_half_up(numerator: int) -> int:
    """numerator / 1_000_000 rounded half up (numerator >= 0)."""
    quotient, remainder = divmod(numerator, PPM)
    return quotient + (1 if remainder * 2 >= PPM else 0)


def capped_premium_fen(premium_fen: int, amount_fen: int, cap_ppm: int | None) -> int:
    """Apply a center's rate cap: never more than ``amount × cap`` (rounded down)."""
    if cap_ppm is None:
        return premium_fen
    return min(premium_fen, amount_fen * cap_ppm // PPM)


def price(schedule: FlatRate | Tiered, amount_fen: int, cap_ppm: int | None = None) -> int:
    return capped_premium_fen(schedule.premium_fen(amount_fen), amount_fen, cap_ppm)


def fee_fen(premium_fen: int, fee_ppm: int) -> int:
    """The platform's share of a premium (rounded down, so the institution is never short-changed),
    kept strictly below the premium."""
    return min(premium_fen * fee_ppm // PPM, premium_fen - 1) if premium_fen > 0 else 0
