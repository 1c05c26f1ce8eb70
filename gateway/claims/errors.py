"""Claim refusals, each with a stable code (listed in the endpoints' OpenAPI responses)."""

from __future__ import annotations

from gateway.errors import Conflict, GatewayError, NotFound


class GuaranteeNotFound(NotFound):
    """Unknown, or not a guarantee of one of the calling center's sections (never told apart)."""

    code = "guarantee_not_found"
    title = "No such guarantee"


class ClaimNotFound(NotFound):
    code = "claim_not_found"
    title = "No such claim"


class GuaranteeNotClaimable(Conflict):
    code = "guarantee_not_claimable"
    title = "The guarantee cannot be claimed in its current state"


class ClaimExists(Conflict):
    code = "claim_exists"
    title = "An open claim on this guarantee exists"


class OutsideCover(GatewayError):
    code = "claim_outside_cover"
    status = 422
    title = "The claim is not within the guarantee's cover"


class AmountExceeded(GatewayError):
    code = "claim_exceeds_amount"
    status = 422
    title = "The claim exceeds the guarantee amount"


class ReasonRequired(GatewayError):
    code = "claim_reason_required"
    status = 422
    title = "A claim or a refusal must state its reason"


class AlreadyDecided(Conflict):
    code = "claim_already_decided"
    title = "The claim was already decided otherwise"


class NotSandboxInstitution(GatewayError):
    code = "not_sandbox_institution"
    status = 422
    title = "The claim's institution is not an embedded sandbox institution"
