"""The center API's refusals, each with a stable code."""

from __future__ import annotations

from gateway.errors import Conflict, GatewayError, NotFound


class UnknownSection(NotFound):
    """No such section of the calling center (another center's section is unknown too)."""

    code = "unknown_section"
    title = "No such section"


class OpeningBeforeDeadline(GatewayError):
    code = "opening_before_deadline"
    status = 422
    title = "Bid opening is before the bid deadline"


class InvalidDeposit(GatewayError):
    code = "invalid_deposit"
    status = 422
    title = "The deposit must be a positive number of fen"


class InvalidValidityDays(GatewayError):
    code = "invalid_validity_days"
    status = 422
    title = "Bid validity must be a positive number of days"


class InvalidTendereeUscc(GatewayError):
    code = "invalid_tenderee_uscc"
    status = 422
    title = "The tenderee's USCC is not valid"


class InvalidBidderUscc(GatewayError):
    code = "invalid_uscc"
    status = 422
    title = "A USCC in the request is not valid"


class InvalidEvent(GatewayError):
    code = "invalid_event"
    status = 422
    title = "Malformed section event"


class SectionNotOpen(Conflict):
    code = "section_not_open"
    title = "The section is terminated or awarded"


class EventOutOfOrder(Conflict):
    code = "event_out_of_order"
    title = "The event does not fit the section's state"


class GuaranteeNotFound(NotFound):
    code = "guarantee_not_found"
    title = "No such guarantee"


class NoOpenExtensionRequest(Conflict):
    code = "no_open_extension_request"
    title = "The guarantee has no open extension request"


class ExtensionTooShort(GatewayError):
    code = "extension_too_short"
    status = 422
    title = "The new cover does not reach the end of bid validity"
