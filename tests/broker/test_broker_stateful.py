"""Random bidder actions against the real broker (hypothesis stateful): the premium is posted exactly
once per issued guarantee, and never kept without one; the ledger stays consistent."""

from __future__ import annotations

import contextlib
import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from contracts.enums import GuaranteeStatus as S
from contracts.enums import Product, SurrenderReason
from gateway.broker.tables import Application, Offer
from gateway.broker.workflow import Broker
from gateway.composition import Container
from gateway.errors import GatewayError
from ledger import Ledger
from tests.broker.broker_factories import bidder_uscc, sandbox, seed_market

_bidders = itertools.count(1000)
ISSUED_OR_LATER = {
    S.ISSUED,
    S.LOCKED,
    S.RELEASED,
    S.CLAIMED,
    S.CLAIM_PAID,
    S.CLAIM_REFUSED,
    S.SURRENDERED,
    S.EXPIRED,
}


def test_premium_is_posted_once_per_issued_guarantee_and_never_kept_otherwise(container: Container) -> None:
    class Orders(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.section = seed_market(container, render_letters=False).section
            self.bidders = [bidder_uscc(next(_bidders)) for _ in range(3)]
            self.broker = Broker.from_container(container)
            self.apps: list[tuple[str, str]] = []  # (application id, bidder)
            for adapter in container.institutions.values():
                sandbox(adapter).behaviour.refuse_issue = False
                sandbox(adapter).behaviour.fail_issue = False

        def _pick(self, index: int) -> tuple[str, str] | None:
            return self.apps[index % len(self.apps)] if self.apps else None

        @rule(who=st.integers(0, 2))
        def apply(self, who: int) -> None:
            try:
                app_id = self.broker.apply(
                    bidder=self.bidders[who],
                    bidder_name=f"投标人{who}",
                    section_code=self.section,
                    product=Product.BID,
                )
            except GatewayError as exc:
                refused = exc.code
            else:
                self.apps.append((app_id, self.bidders[who]))
                return
            assert refused == "application_exists"

        @rule(index=st.integers(0, 50), offer=st.integers(0, 2))
        def accept(self, index: int, offer: int) -> None:
            picked = self._pick(index)
            if picked is None:
                return
            with container.sessions() as session:
                offers = session.scalars(select(Offer.id).where(Offer.application_id == picked[0])).all()
            if offers:
                with contextlib.suppress(GatewayError):
                    self.broker.accept(
                        bidder=picked[1], application_id=picked[0], offer_id=offers[offer % len(offers)]
                    )

        @rule(index=st.integers(0, 50), approve=st.booleans())
        def insurer_decides(self, index: int, approve: bool) -> None:
            picked = self._pick(index)
            if picked is None:
                return
            with contextlib.suppress(GatewayError):
                self.broker.decide(
                    institution_code="SBX-INSURER", application_id=picked[0], approve=approve, reason=None
                )

        @rule(index=st.integers(0, 50), outcome=st.sampled_from(["issue", "refuse", "fail"]))
        def pay(self, index: int, outcome: str) -> None:
            picked = self._pick(index)
            if picked is None:
                return
            for adapter in container.institutions.values():
                sandbox(adapter).behaviour.refuse_issue = outcome == "refuse"
                sandbox(adapter).behaviour.fail_issue = outcome == "fail"
            with contextlib.suppress(GatewayError):
                self.broker.pay(bidder=picked[1], application_id=picked[0], method="sandbox")

        @rule(index=st.integers(0, 50))
        def cancel(self, index: int) -> None:
            picked = self._pick(index)
            if picked is None:
                return
            with contextlib.suppress(GatewayError):
                self.broker.cancel(bidder=picked[1], application_id=picked[0])

        @rule(index=st.integers(0, 50), reason=st.sampled_from(list(SurrenderReason)))
        def surrender(self, index: int, reason: SurrenderReason) -> None:
            picked = self._pick(index)
            if picked is None:
                return
            with container.sessions() as session:
                app = session.get(Application, picked[0])
                number = app.guarantee_no if app else None
            if number:
                with contextlib.suppress(GatewayError):
                    self.broker.surrender(bidder=picked[1], guarantee_no=number, reason=reason)

        @invariant()
        def premium_posted_once_per_issued_guarantee_and_never_kept_otherwise(self) -> None:
            book = Ledger(container.engine)
            # Read the orders first: on SQLite an open session holds the single writer's lock.
            with container.sessions() as session:
                apps = session.scalars(
                    select(Application).where(Application.id.in_([a for a, _ in self.apps]))
                ).all()
            live_per_bidder = [a.live_slot for a in apps if a.live_slot]
            assert len(live_per_bidder) == len(set(live_per_bidder))
            for app in apps:
                status = S(app.status)
                hold = book.get_transfer(f"premium-hold:{app.id}")
                settled = book.get_transfer(f"premium-settle:{app.id}:institution")
                voided = book.get_transfer(f"premium-void:{app.id}")
                if status in ISSUED_OR_LATER:
                    assert hold is not None
                    assert settled is not None
                    assert voided is None
                    assert app.guarantee_no is not None
                else:
                    assert settled is None, f"premium kept for a {status} order"
                    assert app.guarantee_no is None
                    if status is S.PAID:
                        assert hold is not None
                        assert voided is None
                    elif hold is not None:
                        assert voided is not None, f"hold left on a {status} order"

        def teardown(self) -> None:
            report = Ledger(container.engine).check()
            assert report.clean, report.violations

    run_state_machine_as_test(
        Orders,
        settings=settings(
            max_examples=30, stateful_step_count=20, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )  # fmt: skip
