"""Descriptions of the parties and the tender section a guarantee is about, as they cross boundaries.

Frozen and closed (`extra="forbid"`): a misspelt field from a trading center is an error, not silently
dropped. Amounts are `Money` in fields named `*_fen` (interfaces.md); times must carry an offset
(RFC 3339) and are kept in UTC (domain.md: stored in UTC, shown in Asia/Shanghai).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Final, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.types import StringConstraints

from contracts.enums import DecisionMode, InstitutionKind, IntegrationMode, Product
from contracts.identifiers import SectionCode
from contracts.money import Money
from contracts.uscc import Uscc


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _positive(amount: Money) -> Money:
    if amount.fen <= 0:
        raise ValueError("must be more than zero")
    return amount


def _no_duplicates(products: tuple[Product, ...]) -> tuple[Product, ...]:
    if len(set(products)) != len(products):
        raise ValueError("lists a product twice")
    return products


_RFC3339_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]", re.ASCII)


def _not_unix_time(value: object) -> object:
    # Pydantic would read a number, or a string of digits, as unix time in UTC; interfaces.md promises
    # RFC 3339 with an offset, so anything else is a sender's mistake about time zones.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _RFC3339_DATE.match(value) is None:
        raise ValueError("a time is an aware datetime or RFC 3339 text with an offset")
    return value


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_not_unix_time), AfterValidator(_in_utc)]
PositiveMoney = Annotated[Money, AfterValidator(_positive), Field(json_schema_extra={"exclusiveMinimum": 0})]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Codes the gateway itself assigns to centers and institutions: safe in URLs, file names and logs.
PartyCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
# A project code is the center's own text and may contain Chinese brackets, e.g. 苏建招〔2024〕12号.
ProjectCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Descriptor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SectionDescriptor(_Descriptor):
    """A tender section (标段) as the trading center publishes it."""

    code: SectionCode
    project_code: ProjectCode
    project_name: Name
    name: Name
    center_code: PartyCode
    tenderee_name: Name
    tenderee_uscc: Uscc
    deposit_fen: PositiveMoney
    bid_deadline_at: UtcDatetime
    bid_opening_at: UtcDatetime
    bid_validity_days: Annotated[int, Field(strict=True, gt=0)]

    @model_validator(mode="after")
    def _opening_not_before_deadline(self) -> Self:
        # Bids are opened after they can no longer be submitted (招标投标法 art. 34: at the deadline).
        if self.bid_opening_at < self.bid_deadline_at:
            raise ValueError("bid_opening_at is before bid_deadline_at")
        return self


class BidderDescriptor(_Descriptor):
    """A bidder (投标人), the applicant and principal of a guarantee."""

    uscc: Uscc
    name: Name
    # Free text (a person and a phone number, as centers send it); never used as an identifier.
    contact: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = (
        None
    )


class InstitutionDescriptor(_Descriptor):
    """A bank, insurer or guarantee company (金融机构) and how the gateway works with it."""

    code: PartyCode
    name: Name
    kind: InstitutionKind
    products: Annotated[tuple[Product, ...], Field(min_length=1), AfterValidator(_no_duplicates)]
    decision: DecisionMode
    mode: IntegrationMode
