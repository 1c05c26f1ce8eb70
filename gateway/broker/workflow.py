"""The broker's use cases end to end: short transactions (`service`) with the calls to institutions
and payment providers between them, never inside one.

    apply:   tx(start) -> fan out quotes (deadline) -> tx(record quotes)
    accept:  tx(accept) -> institution.submit -> tx(record decision)
    pay:     tx(begin payment) -> provider.charge -> tx(hold premium) -> institution.issue
             -> tx(verify, store guarantee, settle premium) | tx(void hold) -> provider.refund

A crash between steps leaves the order in an intermediate state (quoting, accepted, paid) that a
retry or a later worker resumes from; nothing is ever both paid and lost, because the hold is only
posted or voided by a state change.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from contracts.enums import Product, SurrenderReason
from contracts.institutions import (
    Decision,
    DecisionOutcome,
    InstitutionAdapter,
    InstitutionUnavailable,
    IssuanceRefused,
    IssuedGuarantee,
    IssueRequest,
    Quote,
    Surrender,
)
from contracts.payments import PaymentProvider, PaymentStatus, PaymentUnavailable, RefundRequest
from gateway.broker import errors, repository, service
from gateway.broker.fanout import fan_out
from gateway.broker.tables import Application, Payment
from gateway.composition import Container
from gateway.db import transaction

log = logging.getLogger("gateway.broker")
# A payment younger than this may still be waiting for the provider's answer in a live request.
PAYMENT_RECOVERY_GRACE_S = 300.0


@dataclass
class Recovery:
    """What one payment-recovery pass did, by payment id."""

    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)


@dataclass
class Broker:
    sessions: sessionmaker[Session]
    institutions: Mapping[str, InstitutionAdapter]
    payments: PaymentProvider
    clock: Callable[[], datetime]
    verify_base_url: str
    quote_deadline_s: float = 3.0

    @classmethod
    def from_container(cls, container: Container) -> Broker:
        return cls(
            sessions=container.sessions,
            institutions=container.institutions,
            payments=container.payment_provider(),
            clock=container.clock,
            verify_base_url=container.settings.base_url,
            quote_deadline_s=container.quote_deadline_s,
        )

    def _adapter(self, code: str) -> InstitutionAdapter:
        adapter = self.institutions.get(code)
        if adapter is None:
            raise InstitutionUnavailable(f"no adapter for institution {code}")
        return adapter

    # ----------------------------------------------------------------- apply

    def apply(self, *, bidder: str, bidder_name: str | None, section_code: str, product: Product) -> str:
        uscc = service.parse_bidder(bidder)
        with transaction(self.sessions) as session:
            app, section, center = service.start_application(
                session, bidder=uscc, bidder_name=bidder_name, section_code=section_code, product=product,
                now=self.clock(),
            )  # fmt: skip
            requests = service.quote_requests(session, app, section, center, list(self.institutions))
            application_id = app.id
        results = fan_out(
            {code: _bind_quote(self.institutions[code], request) for code, request in requests.items()},
            self.quote_deadline_s,
        )
        if results.timed_out or results.failed:
            log.info(
                "some institutions did not quote",
                extra={"timed_out": results.timed_out, "failed": sorted(results.failed)},
            )
        with transaction(self.sessions) as session:
            service.record_quotes(session, application_id, results.answers, requests, now=self.clock())
        return application_id

    # ----------------------------------------------------------------- accept / decide

    def accept(self, *, bidder: str, application_id: str, offer_id: str) -> None:
        with transaction(self.sessions) as session:
            submission = service.accept_offer(
                session, application_id=application_id, bidder=bidder, offer_id=offer_id, now=self.clock()
            )
        try:
            decision = self._adapter(submission.institution_code).submit(submission)
        except InstitutionUnavailable as exc:
            # Stays `accepted`; the submission is retried (status polling / outbox worker, later).
            log.warning("submission failed", extra={"application_id": application_id, "error": str(exc)})
            return
        with transaction(self.sessions) as session:
            service.record_decision(
                session, decision, actor=f"institution:{decision.institution_code}", now=self.clock()
            )

    def decide(
        self, *, institution_code: str, application_id: str, approve: bool, reason: str | None
    ) -> None:
        """A reviewing institution's decision (CLI now, partner API later)."""
        decision = Decision(
            application_id=application_id,
            institution_code=institution_code,
            outcome=DecisionOutcome.APPROVED if approve else DecisionOutcome.REJECTED,
            reason=reason,
        )
        with transaction(self.sessions) as session:
            service.record_decision(
                session, decision, actor=f"institution:{institution_code}", now=self.clock()
            )

    # ----------------------------------------------------------------- pay and issue

    def pay(self, *, bidder: str, application_id: str, method: str) -> None:
        with transaction(self.sessions) as session:
            request = service.begin_payment(
                session, application_id=application_id, bidder=bidder, method=method,
                methods=self.payments.methods, now=self.clock(),
            )  # fmt: skip
        try:
            result = self.payments.charge(request)
        except PaymentUnavailable as exc:
            with transaction(self.sessions) as session:
                service.fail_pending_payment(session, request.payment_id, str(exc), now=self.clock())
            raise errors.PaymentFailed("the payment provider is unavailable; try again") from exc
        code = service.new_verification_code()
        with transaction(self.sessions) as session:
            app, section = service.complete_payment_in_section(session, result, now=self.clock())
            # Built in the same transaction that took the money: one round trip fewer per guarantee.
            to_issue = (
                service.issue_request(
                    session,
                    app,
                    verification_code=code,
                    verify_base_url=self.verify_base_url,
                    section=section,
                )
                if app.status == "paid"
                else None
            )
        if result.status is not PaymentStatus.SUCCEEDED:
            raise errors.PaymentFailed(result.failure_reason or "the payment failed")
        if to_issue is not None:
            self._issue(to_issue)

    def issue(self, application_id: str) -> None:
        """Ask the institution to issue a paid order (also the retry after an institution failure)."""
        code = service.new_verification_code()
        with transaction(self.sessions) as session:
            app = session.get(Application, application_id)
            assert app is not None
            if app.status != "paid":
                return
            request = service.issue_request(
                session, app, verification_code=code, verify_base_url=self.verify_base_url
            )
        self._issue(request)

    def _issue(self, request: IssueRequest) -> None:
        application_id, code = request.application_id, request.verification_code
        try:
            issued = self._adapter(request.institution_code).issue(request)
        except IssuanceRefused as exc:
            with transaction(self.sessions) as session:
                payment = service.refuse_issuance(session, application_id, str(exc), now=self.clock())
            self._refund(payment)
            return
        except InstitutionUnavailable as exc:
            log.warning(
                "issuance failed; stays paid", extra={"application_id": application_id, "error": str(exc)}
            )
            return
        letter = _letter_bytes(issued)
        with transaction(self.sessions) as session:
            service.record_issuance(
                session, application_id, issued, verification_code=code, letter_pdf=letter, now=self.clock()
            )

    def _refund(self, payment: Payment | None) -> bool:
        """Give a payment back through the provider; True when it confirmed."""
        if payment is None:
            return False
        try:
            result = self.payments.refund(
                RefundRequest.model_validate(
                    {
                        "refund_id": f"rf-{payment.id}",
                        "payment_id": payment.id,
                        "amount_fen": payment.amount_fen,
                    }
                )
            )
        except PaymentUnavailable:
            log.warning("refund failed; to be retried", extra={"payment_id": payment.id})
            return False
        return result.status is PaymentStatus.SUCCEEDED

    def expire_offers(self) -> list[str]:
        """Periodic job: orders whose offers all lapsed become expired_offer."""
        with transaction(self.sessions) as session:
            return service.expire_offers(session, now=self.clock())

    def recover_payments(self, *, grace_s: float = PAYMENT_RECOVERY_GRACE_S, limit: int = 200) -> Recovery:
        """Periodic job: payments still `pending` `grace_s` after they began (the process died between
        the provider's charge and recording it) are settled with the provider's answer: completed (the
        premium held, then issued) or failed; money taken for an order that moved on is refunded.
        The grace keeps it away from a charge still in flight."""
        recovery = Recovery()
        with transaction(self.sessions) as session:
            stale = repository.pending_payments(
                session, older_than=self.clock() - timedelta(seconds=grace_s), limit=limit
            )
        for payment_id in stale:
            try:
                result = self.payments.status(payment_id)
            except PaymentUnavailable:
                recovery.unanswered.append(payment_id)
                continue
            code = service.new_verification_code()
            with transaction(self.sessions) as session:
                paid, to_refund = service.recover_payment(session, payment_id, result, now=self.clock())
                to_issue = (
                    service.issue_request(
                        session, paid, verification_code=code, verify_base_url=self.verify_base_url
                    )
                    if paid is not None
                    else None
                )
            if to_issue is not None:
                recovery.completed.append(payment_id)
                self._issue(to_issue)
            elif to_refund is not None:
                recovery.refunded.append(payment_id)
                self._refund(to_refund)
            elif result is None or result.status is PaymentStatus.FAILED:
                recovery.failed.append(payment_id)
        return recovery

    def sweep(self) -> tuple[list[str], Recovery]:
        """One pass of the broker's periodic jobs: payment recovery first (a recovered payment must not
        see its order expired under it), then offer expiry."""
        recovery = self.recover_payments()
        return self.expire_offers(), recovery

    # ----------------------------------------------------------------- cancel and surrender

    def cancel(self, *, bidder: str, application_id: str) -> None:
        with transaction(self.sessions) as session:
            _app, payment = service.cancel(
                session, application_id=application_id, bidder=bidder, now=self.clock()
            )
        self._refund(payment)

    def surrender(self, *, bidder: str, guarantee_no: str, reason: SurrenderReason) -> None:
        with transaction(self.sessions) as session:
            app, payment = service.surrender(
                session, guarantee_no=guarantee_no, bidder=bidder, reason=reason, now=self.clock()
            )
            institution_code, premium, application_id = app.institution_code, app.premium_fen, app.id
        succeeded = self._refund(payment)
        with transaction(self.sessions) as session:
            service.confirm_refund_payout(session, application_id, succeeded=succeeded)
        adapter = self.institutions.get(institution_code or "")
        if adapter is not None and premium is not None:
            try:
                adapter.surrender(
                    Surrender.model_validate(
                        {
                            "guarantee_no": guarantee_no,
                            "institution_code": institution_code,
                            "reason": reason,
                            "refund_fen": premium,
                        }
                    )
                )
            except InstitutionUnavailable:
                log.warning("surrender notice failed", extra={"guarantee_no": guarantee_no})


def _bind_quote(adapter: InstitutionAdapter, request: object) -> Callable[[], Quote]:
    from contracts.institutions import QuoteRequest

    assert isinstance(request, QuoteRequest)
    return lambda: adapter.quote(request)


def _letter_bytes(issued: IssuedGuarantee) -> bytes | None:
    if issued.letter_pdf_b64 is None:
        return None
    try:
        return base64.b64decode(issued.letter_pdf_b64, validate=True)
    except (binascii.Error, ValueError):
        return None
