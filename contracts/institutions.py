"""What the gateway and an institution (bank, insurer, guarantee company) say to each other.

One Protocol per capability (style.md: seams one method wide): quote, submit (and issue), status,
surrender, claim, extension. A concrete institution (a sandbox, an HTTP partner adapter) implements
them all; the gateway only ever sees these Protocols. Calls are synchronous and may be slow or fail:
the gateway calls them outside any database transaction, with a deadline.

The issued guarantee carries the institution's SM2 signature (base64 DER, signer ID
1234567812345678) over the canonical JSON of `GuaranteeData.signed_value()`; the gateway verifies it
against the institution's certificate before accepting the guarantee.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from contracts.descriptors import PartyCode, UtcDatetime
from contracts.enums import DecisionMode, Product, SurrenderReason
from contracts.identifiers import GuaranteeNo, SectionCode
from contracts.money import Money
from contracts.uscc import Uscc

ApplicationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InstitutionUnavailable(Exception):
    """The institution could not be reached or failed to answer (retry later; never a refusal)."""

    code = "institution_unavailable"


class IssuanceRefused(Exception):
    """The institution refuses to issue after payment: the gateway voids the hold and refunds."""

    code = "issuance_refused"


class QuoteRequest(_Message):
    application_id: ApplicationId
    institution_code: PartyCode
    product: Product
    section_code: SectionCode
    bidder_uscc: Uscc
    bidder_name: str
    tenderee_name: str
    amount_fen: Money
    cover_start: date
    cover_end: date
    # The premium the institution's published schedule gives (after any center cap); an institution may
    # quote it or less, never more (the gateway drops quotes above it).
    schedule_premium_fen: Money


class Quote(_Message):
    application_id: ApplicationId
    institution_code: PartyCode
    premium_fen: Money | None  # None when declined
    decision: DecisionMode
    valid_until: UtcDatetime
    declined_reason: str | None = None

    @property
    def declined(self) -> bool:
        return self.premium_fen is None


class ApplicationSubmission(_Message):
    """The bidder accepted this institution's offer: review it (KYC, limits) and decide."""

    application_id: ApplicationId
    institution_code: PartyCode
    quote: QuoteRequest
    premium_fen: Money


class DecisionOutcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"  # a person reviews; the decision comes later (partner API / CLI)


class Decision(_Message):
    application_id: ApplicationId
    institution_code: PartyCode
    outcome: DecisionOutcome
    reason: str | None = None


class StatusQuery(_Message):
    application_id: ApplicationId
    institution_code: PartyCode


class IssueRequest(_Message):
    """Premium paid: issue the guarantee."""

    application_id: ApplicationId
    institution_code: PartyCode
    quote: QuoteRequest
    premium_fen: Money
    beneficiary_name: str
    beneficiary_uscc: Uscc
    section_name: str
    project_name: str
    # Printed on the letter and in its QR code; the gateway makes it (public verification needs both).
    verification_code: str
    verify_base_url: str


class GuaranteeData(_Message):
    """The institution's statement of the guarantee: exactly what its SM2 signature covers."""

    guarantee_no: GuaranteeNo
    application_id: ApplicationId
    institution_code: PartyCode
    product: Product
    section_code: SectionCode
    applicant_uscc: Uscc
    applicant_name: str
    beneficiary_uscc: Uscc
    beneficiary_name: str
    amount_fen: Money
    premium_fen: Money
    cover_start: date
    cover_end: date
    issued_at: UtcDatetime

    @classmethod
    def answering(
        cls, request: IssueRequest, *, guarantee_no: str, institution_code: str, issued_at: datetime
    ) -> GuaranteeData:
        """The guarantee an institution issues for `request`: the quoted terms, as they were asked."""
        quote = request.quote
        return cls.model_validate(
            {
                "guarantee_no": guarantee_no,
                "application_id": request.application_id,
                "institution_code": institution_code,
                "product": quote.product,
                "section_code": quote.section_code,
                "applicant_uscc": quote.bidder_uscc,
                "applicant_name": quote.bidder_name,
                "beneficiary_uscc": request.beneficiary_uscc,
                "beneficiary_name": request.beneficiary_name,
                "amount_fen": quote.amount_fen,
                "premium_fen": request.premium_fen,
                "cover_start": quote.cover_start,
                "cover_end": quote.cover_end,
                "issued_at": issued_at,
            }
        )

    def signed_value(self) -> dict[str, Any]:
        """Plain JSON value (ints and strings only) for canonical JSON."""
        value: dict[str, Any] = self.model_dump(mode="json")
        value["scheme"] = "gw-guarantee-sm2/1"
        return value


class IssuedGuarantee(_Message):
    data: GuaranteeData
    key_id: str
    signature_b64: str  # SM2 over canonical_json(data.signed_value())
    letter_pdf_b64: str | None = None  # the signed letter (signing.letter), when the institution renders it


class Surrender(_Message):
    guarantee_no: GuaranteeNo
    institution_code: PartyCode
    reason: SurrenderReason
    refund_fen: Money


class SurrenderAck(_Message):
    guarantee_no: GuaranteeNo
    accepted: bool
    reason: str | None = None


class Claim(_Message):
    claim_id: str
    guarantee_no: GuaranteeNo
    institution_code: PartyCode
    amount_fen: Money
    reason: str


class ClaimAck(_Message):
    claim_id: str
    received_at: UtcDatetime


class Extension(_Message):
    guarantee_no: GuaranteeNo
    institution_code: PartyCode
    new_cover_end: date


class ExtensionResult(_Message):
    guarantee_no: GuaranteeNo
    approved: bool
    new_cover_end: date | None = None
    reason: str | None = None


@runtime_checkable
class QuotePort(Protocol):
    def quote(self, request: QuoteRequest) -> Quote: ...


@runtime_checkable
class SubmitPort(Protocol):
    def submit(self, submission: ApplicationSubmission) -> Decision: ...

    def issue(self, request: IssueRequest) -> IssuedGuarantee: ...


@runtime_checkable
class StatusPort(Protocol):
    def status(self, query: StatusQuery) -> Decision: ...


@runtime_checkable
class SurrenderPort(Protocol):
    def surrender(self, request: Surrender) -> SurrenderAck: ...


@runtime_checkable
class ClaimPort(Protocol):
    def claim(self, request: Claim) -> ClaimAck: ...


@runtime_checkable
class ExtensionPort(Protocol):
    def extend(self, request: Extension) -> ExtensionResult: ...


@runtime_checkable
class InstitutionAdapter(
    QuotePort, SubmitPort, StatusPort, SurrenderPort, ClaimPort, ExtensionPort, Protocol
):
    """Everything the broker needs from one institution."""

    code: str


__all__ = [
    "ApplicationSubmission",
    "Claim",
    "ClaimAck",
    "ClaimPort",
    "Decision",
    "DecisionOutcome",
    "Extension",
    "ExtensionPort",
    "ExtensionResult",
    "GuaranteeData",
    "InstitutionAdapter",
    "InstitutionUnavailable",
    "IssuanceRefused",
    "IssueRequest",
    "IssuedGuarantee",
    "Quote",
    "QuotePort",
    "QuoteRequest",
    "StatusPort",
    "StatusQuery",
    "SubmitPort",
    "Surrender",
    "SurrenderAck",
    "SurrenderPort",
]
