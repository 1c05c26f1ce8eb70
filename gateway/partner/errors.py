"""Refusals of the partner API (pull mode), each with a stable code. Nothing changes when one is raised:
the transaction it was raised in rolls back."""

from __future__ import annotations

from gateway.errors import Conflict, GatewayError, NotFound


class QuoteClosed(Conflict):
    code = "quote_closed"
    title = "No quote request is open for this application"


class PremiumAboveSchedule(GatewayError):
    code = "premium_above_schedule"
    status = 422
    title = "The premium is above the institution's published schedule"


class ValidUntilPast(GatewayError):
    code = "valid_until_past"
    status = 422
    title = "The quote's valid_until has already passed"


class AlreadyDecided(Conflict):
    code = "already_decided"
    title = "The application was already decided"


class NotAwaitingDecision(Conflict):
    code = "not_awaiting_decision"
    title = "The application is not awaiting this institution's decision"


class NotAwaitingIssuance(Conflict):
    code = "not_awaiting_issuance"
    title = "The application is not awaiting issuance"


class AlreadyIssued(Conflict):
    code = "already_issued"
    title = "A guarantee was already issued for this application"


class GuaranteeNoTaken(Conflict):
    code = "guarantee_no_taken"
    title = "This guarantee number is already used"


class SignatureInvalid(GatewayError):
    code = "signature_invalid"
    status = 422
    title = "The SM2 signature over the guarantee data does not verify"


class DataMismatch(GatewayError):
    code = "data_mismatch"
    status = 422
    title = "The guarantee data does not match the application"


class LetterInvalid(GatewayError):
    code = "letter_invalid"
    status = 422
    title = "The letter is not a base64 PDF"


class NoticeNotFound(NotFound):
    code = "notice_not_found"
    title = "No such notice"
