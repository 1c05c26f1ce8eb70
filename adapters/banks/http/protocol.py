"""The push wire protocol (docs/partner-push.md): paths on the institution's base URL, header names
and the envelope of the unknown-outcome status query. Shared by the gateway's HTTP adapter and the
reference partner server (adapters.partner_sandbox), so both sides read one definition."""

from __future__ import annotations

from typing import Final

PREFIX: Final = "/push/v1"
QUOTES: Final = f"{PREFIX}/quotes"  # POST QuoteRequest -> Quote


def submission(application_id: str) -> str:  # POST ApplicationSubmission -> Decision
    return f"{PREFIX}/applications/{application_id}/submission"


def decision(application_id: str) -> str:  # GET -> Decision (the status query)
    return f"{PREFIX}/applications/{application_id}/decision"


def issuance(application_id: str) -> str:  # POST IssueRequest -> IssuedGuarantee | 422 issuance_refused
    return f"{PREFIX}/applications/{application_id}/issuance"


def guarantee(application_id: str) -> str:  # GET -> IssuedGuarantee | 404 not_issued
    return f"{PREFIX}/applications/{application_id}/guarantee"


def surrender(guarantee_no: str) -> str:  # POST Surrender -> SurrenderAck
    return f"{PREFIX}/guarantees/{guarantee_no}/surrender"


def extension(guarantee_no: str) -> str:  # POST Extension -> ExtensionResult
    return f"{PREFIX}/guarantees/{guarantee_no}/extension"


CLAIMS: Final = f"{PREFIX}/claims"  # POST Claim -> ClaimAck


def request_outcome(idempotency_key: str) -> str:
    """GET: what became of the POST sent with this Idempotency-Key. 200 {"state": "completed",
    "status": <int>, "body": <the original JSON>} | 404 {"state": "unknown"} (never committed: safe to
    send again with the same key) | 409 {"state": "in_progress"}."""
    return f"{PREFIX}/requests/{idempotency_key}"


IDEMPOTENCY_KEY: Final = "Idempotency-Key"
ISSUANCE_REFUSED: Final = "issuance_refused"
