"""The guarantee order's life (shared/design/domain.md) as one transition table. Pure: no I/O.

```
draft -> quoting -> offered -> accepted -> under_review -> awaiting_payment -> paid -> issued
                       \\-> expired_offer    \\-> rejected      \\-> expired_offer      \\-> rejected
issued -> locked -> released | claimed -> claim_paid | claim_refused
issued -> surrendered | expired | released | claimed
any state before issued -> cancelled
```

`step(status, event)` returns the next status and the effects the service must carry out in the same
transaction (ledger postings), or raises `Refused`. Every allowed move is one line below; any other
pair is refused by construction.

Money rules the effects encode: the premium is held when paid (`HOLD_PREMIUM`), posted to the
institution only on issue (`SETTLE_PREMIUM`), voided (refunded) whenever a paid order ends without a
guarantee (`VOID_PREMIUM`), and refunded through the institution's payable on surrender
(`REFUND_PREMIUM`). A locked guarantee has no SURRENDER line, so it cannot be surrendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from contracts.enums import GuaranteeStatus as Status


class Event(StrEnum):
    REQUEST_QUOTES = "request_quotes"
    QUOTES_RECEIVED = "quotes_received"
    NO_QUOTES = "no_quotes"
    ACCEPT = "accept"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    OFFER_EXPIRED = "offer_expired"
    PAY = "pay"
    ISSUE = "issue"
    LOCK = "lock"
    RELEASE = "release"
    CLAIM = "claim"
    PAY_CLAIM = "pay_claim"
    REFUSE_CLAIM = "refuse_claim"
    SURRENDER = "surrender"
    EXPIRE = "expire"
    CANCEL = "cancel"


class Effect(StrEnum):
    HOLD_PREMIUM = "hold_premium"
    SETTLE_PREMIUM = "settle_premium"
    VOID_PREMIUM = "void_premium"
    REFUND_PREMIUM = "refund_premium"


@dataclass(frozen=True)
class Move:
    next: Status
    effects: tuple[Effect, ...] = ()


S = Status
E = Event
_NONE: Final[tuple[Effect, ...]] = ()

TRANSITIONS: Final[Mapping[tuple[Status, Event], Move]] = {
    (S.DRAFT, E.REQUEST_QUOTES): Move(S.QUOTING),
    (S.QUOTING, E.QUOTES_RECEIVED): Move(S.OFFERED),
    (S.QUOTING, E.NO_QUOTES): Move(S.CANCELLED),
    (S.OFFERED, E.ACCEPT): Move(S.ACCEPTED),
    (S.OFFERED, E.OFFER_EXPIRED): Move(S.EXPIRED_OFFER),
    (S.ACCEPTED, E.SUBMIT): Move(S.UNDER_REVIEW),
    (S.UNDER_REVIEW, E.APPROVE): Move(S.AWAITING_PAYMENT),
    (S.UNDER_REVIEW, E.REJECT): Move(S.REJECTED),
    (S.AWAITING_PAYMENT, E.OFFER_EXPIRED): Move(S.EXPIRED_OFFER),
    (S.AWAITING_PAYMENT, E.PAY): Move(S.PAID, (Effect.HOLD_PREMIUM,)),
    (S.PAID, E.ISSUE): Move(S.ISSUED, (Effect.SETTLE_PREMIUM,)),
    (S.PAID, E.REJECT): Move(S.REJECTED, (Effect.VOID_PREMIUM,)),
    (S.ISSUED, E.LOCK): Move(S.LOCKED),
    (S.ISSUED, E.RELEASE): Move(S.RELEASED),
    (S.ISSUED, E.CLAIM): Move(S.CLAIMED),
    (S.ISSUED, E.SURRENDER): Move(S.SURRENDERED, (Effect.REFUND_PREMIUM,)),
    (S.ISSUED, E.EXPIRE): Move(S.EXPIRED),
    (S.LOCKED, E.RELEASE): Move(S.RELEASED),
    (S.LOCKED, E.CLAIM): Move(S.CLAIMED),
    (S.LOCKED, E.EXPIRE): Move(S.EXPIRED),
    (S.CLAIMED, E.PAY_CLAIM): Move(S.CLAIM_PAID),
    (S.CLAIMED, E.REFUSE_CLAIM): Move(S.CLAIM_REFUSED),
    # Any state before issued may be cancelled; a paid one gives the premium back.
    (S.DRAFT, E.CANCEL): Move(S.CANCELLED),
    (S.QUOTING, E.CANCEL): Move(S.CANCELLED),
    (S.OFFERED, E.CANCEL): Move(S.CANCELLED),
    (S.ACCEPTED, E.CANCEL): Move(S.CANCELLED),
    (S.UNDER_REVIEW, E.CANCEL): Move(S.CANCELLED),
    (S.AWAITING_PAYMENT, E.CANCEL): Move(S.CANCELLED),
    (S.PAID, E.CANCEL): Move(S.CANCELLED, (Effect.VOID_PREMIUM,)),
}

# Orders in these states hold the (bidder, section, product) slot: a second application is refused.
LIVE: Final[frozenset[Status]] = frozenset(
    {S.DRAFT, S.QUOTING, S.OFFERED, S.ACCEPTED, S.UNDER_REVIEW, S.AWAITING_PAYMENT, S.PAID, S.ISSUED,
     S.LOCKED, S.CLAIMED}
)  # fmt: skip
TERMINAL: Final[frozenset[Status]] = frozenset(
    status for status in Status if not any(key[0] is status for key in TRANSITIONS)
)


@dataclass(frozen=True)
class Refused(Exception):
    """The event is not allowed in this status."""

    status: Status
    event: Event

    def __str__(self) -> str:
        return f"{self.event.value} is not allowed when the order is {self.status.value}"


def step(status: Status, event: Event) -> Move:
    move = TRANSITIONS.get((status, event))
    if move is None:
        raise Refused(status, event)
    return move


def allowed_events(status: Status) -> list[Event]:
    return [event for (from_status, event) in TRANSITIONS if from_status is status]
