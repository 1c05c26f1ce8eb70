"""Section events end to end: a short transaction for the state change, then the calls out (extension
requests to institutions, premium refunds to the payment provider, surrender notices), each answer
recorded in its own transaction. Nothing is called inside a transaction.

A crash between the steps leaves open extension requests and pending refund holds; repeating the
event asks the open requests again (nothing is asked or surrendered twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from contracts.enums import SurrenderReason
from contracts.institutions import Extension, InstitutionAdapter, InstitutionUnavailable, Surrender
from contracts.payments import PaymentProvider, PaymentStatus, PaymentUnavailable, RefundRequest
from gateway.broker import service as broker
from gateway.centers import errors, service
from gateway.centers.schemas import (
    Awarded,
    ContractSigned,
    EventOut,
    OpeningChanged,
    SectionIn,
    SectionOut,
    Terminated,
)
from gateway.composition import Container
from gateway.db import transaction
from gateway.sections.tables import Section

log = logging.getLogger("gateway.centers")


@dataclass
class Centers:
    sessions: sessionmaker[Session]
    institutions: Mapping[str, InstitutionAdapter]
    payments: PaymentProvider | None
    clock: Callable[[], datetime]

    @classmethod
    def from_container(cls, container: Container) -> Centers:
        return cls(container.sessions, container.institutions, container.payments, container.clock)

    def upsert(self, *, center_code: str, code: str, body: SectionIn) -> SectionOut:
        with transaction(self.sessions) as session:
            outcome = service.upsert_section(
                session, center_code=center_code, code=code, body=body, now=self.clock()
            )
            out = section_out(outcome.section, asks=len(outcome.asks))
        self._extend(outcome.asks)
        return out

    def handle(
        self, *, center_code: str, code: str, event: OpeningChanged | Terminated | Awarded | ContractSigned
    ) -> EventOut:
        with transaction(self.sessions) as session:
            section = service.section_of(session, center_code, code, lock=True)
            now = self.clock()
            if isinstance(event, OpeningChanged):
                outcome = service.change_opening(
                    session,
                    section,
                    opening_at=event.bid_opening_at,
                    deadline_at=event.bid_deadline_at,
                    now=now,
                )
            elif isinstance(event, Terminated):
                outcome = service.terminate(session, section, now=now)
            elif isinstance(event, Awarded):
                outcome = service.award(session, section, winner_uscc=event.winner_uscc, now=now)
            else:
                outcome = service.contract_signed(session, section, signed_on=event.signed_on, now=now)
            status = outcome.section.status
        extended = self._extend(outcome.asks)
        self._refund(outcome.refunds)
        return EventOut(
            section_code=code,
            type=event.type,
            section_status=status,
            extension_requests=len(outcome.asks),
            extended=extended,
            surrendered=outcome.surrendered,
            cancelled=outcome.cancelled,
            released=outcome.released,
        )

    def _extend(self, asks: list[service.ExtensionAsk]) -> int:
        """Ask each institution we can reach; one that is unreachable or has no adapter (pull mode)
        answers later through `POST /partner/v1/guarantees/{no}/extension`."""
        extended = 0
        for ask in asks:
            adapter = self.institutions.get(ask.institution_code)
            if adapter is None:
                continue
            try:
                result = adapter.extend(
                    Extension.model_validate(
                        {
                            "guarantee_no": ask.guarantee_no,
                            "institution_code": ask.institution_code,
                            "new_cover_end": ask.required_cover_end,
                        }
                    )
                )
            except InstitutionUnavailable as exc:
                log.warning(
                    "extension request failed; stays open",
                    extra={"guarantee_no": ask.guarantee_no, "error": str(exc)},
                )
                continue
            try:
                with transaction(self.sessions) as session:
                    request = service.record_extension(
                        session,
                        guarantee_no=ask.guarantee_no,
                        institution_code=ask.institution_code,
                        approved=result.approved,
                        new_cover_end=result.new_cover_end,
                        reason=result.reason,
                        now=self.clock(),
                    )
                    extended += request.status == "extended"
            except errors.NoOpenExtensionRequest:
                continue  # answered meanwhile (the partner API, a concurrent retry)
        return extended

    def _refund(self, refunds: list[service.Refund]) -> None:
        for refund in refunds:
            succeeded = False
            if self.payments is not None:
                try:
                    result = self.payments.refund(
                        RefundRequest.model_validate(
                            {
                                "refund_id": f"rf-{refund.payment_id}",
                                "payment_id": refund.payment_id,
                                "amount_fen": refund.amount_fen,
                            }
                        )
                    )
                    succeeded = result.status is PaymentStatus.SUCCEEDED
                except PaymentUnavailable:
                    log.warning("refund failed; to be retried", extra={"payment_id": refund.payment_id})
            if not refund.surrendered:
                continue
            with transaction(self.sessions) as session:
                broker.confirm_refund_payout(session, refund.application_id, succeeded=succeeded)
            adapter = self.institutions.get(refund.institution_code or "")
            if adapter is not None and refund.guarantee_no is not None:
                try:
                    adapter.surrender(
                        Surrender.model_validate(
                            {
                                "guarantee_no": refund.guarantee_no,
                                "institution_code": refund.institution_code,
                                "reason": SurrenderReason.FAILED_TENDER,
                                "refund_fen": refund.amount_fen,
                            }
                        )
                    )
                except InstitutionUnavailable:
                    log.warning("surrender notice failed", extra={"guarantee_no": refund.guarantee_no})


def section_out(section: Section, *, asks: int = 0) -> SectionOut:
    return SectionOut(
        code=section.code,
        center_code=section.center_code,
        project_code=section.project_code,
        project_name=section.project_name,
        name=section.name,
        tenderee_name=section.tenderee_name,
        tenderee_uscc=section.tenderee_uscc,
        deposit_fen=section.deposit_fen,
        bid_deadline_at=section.bid_deadline_at.isoformat(),
        bid_opening_at=section.bid_opening_at.isoformat(),
        bid_validity_days=section.bid_validity_days,
        status=section.status,
        winner_uscc=section.winner_uscc,
        contract_signed_on=section.contract_signed_on,
        extension_requests=asks,
    )
