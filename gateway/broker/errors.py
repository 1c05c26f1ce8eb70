"""The broker's refusals, each with a stable code (listed in the endpoints' OpenAPI responses)."""

from __future__ import annotations

from gateway.errors import Conflict, GatewayError, NotFound


class InvalidUscc(GatewayError):
    code = "invalid_uscc"
    status = 422
    title = "Invalid USCC"


class BidderNameRequired(GatewayError):
    code = "bidder_name_required"
    status = 422
    title = "The bidder's registered name is needed"


class SectionNotFound(NotFound):
    code = "section_not_found"
    title = "No such open section"


class SectionClosed(Conflict):
    code = "section_closed"
    title = "The section no longer takes bids"


class ProductNotOffered(GatewayError):
    code = "product_not_offered"
    status = 422
    title = "This product is not offered for the section"


class ApplicationExists(Conflict):
    code = "application_exists"
    title = "A live application for this section exists"


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    title = "No such application"


class GuaranteeNotFound(NotFound):
    code = "guarantee_not_found"
    title = "No such guarantee"


class OfferNotFound(NotFound):
    code = "offer_not_found"
    title = "No such offer on this application"


class OfferExpired(Conflict):
    code = "offer_expired"
    title = "The offer has expired"


class AlreadyPaid(Conflict):
    code = "already_paid"
    title = "The premium is already paid"


class PaymentInProgress(Conflict):
    code = "payment_in_progress"
    title = "A payment for this application is in progress"


class PaymentFailed(GatewayError):
    code = "payment_failed"
    status = 402
    title = "The payment failed"


class UnsupportedPaymentMethod(GatewayError):
    code = "unsupported_payment_method"
    status = 422
    title = "Unsupported payment method"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "Not allowed in the application's current state"


class GuaranteeLocked(Conflict):
    code = "guarantee_locked"
    title = "The guarantee is locked (checked at bid opening)"


class SurrenderNotAllowed(Conflict):
    code = "surrender_not_allowed"
    title = "The guarantee cannot be surrendered now"


class InstitutionSignatureInvalid(GatewayError):
    code = "institution_signature_invalid"
    status = 502
    title = "The institution's signature does not verify"


class LetterNotAvailable(NotFound):
    code = "letter_not_available"
    title = "No letter stored for this guarantee"


class InstitutionNotFound(NotFound):
    code = "institution_not_found"
    title = "No such institution"
