"""The order's transition table: every declared move works, every other pair is refused."""

from __future__ import annotations

import itertools

import pytest

from contracts.enums import GuaranteeStatus as S
from gateway.broker.machine import LIVE, TERMINAL, TRANSITIONS, Effect, Event, Refused, step

E = Event


@pytest.mark.parametrize(("status", "event"), list(TRANSITIONS))
def test_every_declared_transition_steps_to_its_target(status: S, event: Event) -> None:
    assert step(status, event) == TRANSITIONS[(status, event)]


UNDECLARED = [pair for pair in itertools.product(S, Event) if pair not in TRANSITIONS]


@pytest.mark.parametrize(("status", "event"), UNDECLARED)
def test_every_undeclared_transition_is_refused(status: S, event: Event) -> None:
    with pytest.raises(Refused) as refused:
        step(status, event)
    assert refused.value.status is status
    assert refused.value.event is event


def test_the_happy_path_reaches_issued_holding_then_settling_the_premium() -> None:
    status, effects = S.DRAFT, list[Effect]()
    for event in (E.REQUEST_QUOTES, E.QUOTES_RECEIVED, E.ACCEPT, E.SUBMIT, E.APPROVE, E.PAY, E.ISSUE):
        move = step(status, event)
        status = move.next
        effects.extend(move.effects)
    assert status is S.ISSUED
    assert effects == [Effect.HOLD_PREMIUM, Effect.SETTLE_PREMIUM]


def test_nothing_is_issued_before_payment() -> None:
    sources = {status for (status, event) in TRANSITIONS if event is E.ISSUE}
    assert sources == {S.PAID}


def test_a_locked_guarantee_cannot_be_surrendered() -> None:
    with pytest.raises(Refused):
        step(S.LOCKED, E.SURRENDER)


def test_every_state_before_issued_can_be_cancelled_and_a_paid_one_voids_the_hold() -> None:
    before_issued = {S.DRAFT, S.QUOTING, S.OFFERED, S.ACCEPTED, S.UNDER_REVIEW, S.AWAITING_PAYMENT, S.PAID}
    assert {status for (status, event) in TRANSITIONS if event is E.CANCEL} == before_issued
    assert step(S.PAID, E.CANCEL).effects == (Effect.VOID_PREMIUM,)


def test_every_way_out_of_paid_without_issuing_voids_the_premium() -> None:
    for (status, event), move in TRANSITIONS.items():
        if status is S.PAID and move.next is not S.ISSUED:
            assert Effect.VOID_PREMIUM in move.effects, event


def test_terminal_states_are_not_live() -> None:
    assert {S.REJECTED, S.EXPIRED_OFFER, S.RELEASED, S.CLAIM_PAID, S.CLAIM_REFUSED,
                        S.SURRENDERED, S.EXPIRED, S.CANCELLED} == TERMINAL  # fmt: skip
    assert not TERMINAL & LIVE
    assert set(S) == TERMINAL | LIVE
