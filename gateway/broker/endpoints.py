"""The bidder API (`/v1`): HTTP only — parse, call the workflow, shape the answer.

Object-level authorization: a bidder only ever finds its own applications and guarantees; anyone
else's are 404 (not 403), so ids cannot be probed.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from contracts.enums import DecisionMode, GuaranteeStatus
from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.broker import errors, repository
from gateway.broker.schemas import (
    AcceptIn,
    ApplicationIn,
    ApplicationOut,
    GuaranteeOut,
    GuaranteePage,
    InstitutionRef,
    OfferOut,
    PaymentIn,
    SurrenderIn,
)
from gateway.broker.tables import Application, Guarantee
from gateway.broker.workflow import Broker
from gateway.composition import Container, container_of
from gateway.http.schemas import PROBLEM_RESPONSES
from gateway.institutions.tables import Institution

router = APIRouter(prefix="/v1", tags=["broker"])
Bidder = Annotated[Caller, Depends(require_role("bidder"))]
ApplicationId = Annotated[str, Path(min_length=1, max_length=40)]
GuaranteeNumber = Annotated[str, Path(min_length=1, max_length=40)]


_PAYMENT_FAILED: dict[str, Any] = {**PROBLEM_RESPONSES[409], "description": "payment_failed"}


def _problems(*codes: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """Problem responses with the stable codes each status may carry (keys of `described`)."""
    responses: dict[int | str, dict[str, Any]] = {401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403]}
    for code in codes:
        base = dict(_PAYMENT_FAILED if code == 402 else PROBLEM_RESPONSES[code])
        if str(code) in described:
            base["description"] = described[str(code)]
        responses[code] = base
    return responses


def _broker(request: Request) -> Broker:
    return Broker.from_container(container_of(request))


def application_out(session: Session, app: Application) -> ApplicationOut:
    offers = repository.offers_of(session, app.id)
    names = {row.code: row for row in repository.institutions(session, [o.institution_code for o in offers])}
    return ApplicationOut(
        id=app.id,
        status=app.status,
        status_zh=GuaranteeStatus(app.status).zh,
        status_reason=app.status_reason,
        bidder_uscc=app.bidder_uscc,
        section_code=app.section_code,
        product=app.product,
        amount_fen=app.amount_fen,
        cover_start=app.cover_start,
        cover_end=app.cover_end,
        offers=[
            OfferOut(
                offer_id=offer.id,
                institution=_institution_ref(names[offer.institution_code]),
                premium_fen=offer.premium_fen,
                decision=DecisionMode(offer.decision),
                valid_until=offer.valid_until,
                rank=offer.rank,
            )
            for offer in offers
        ],
        accepted_offer_id=app.accepted_offer_id,
        institution_code=app.institution_code,
        premium_fen=app.premium_fen,
        guarantee_no=app.guarantee_no,
        created_at=app.created_at,
        updated_at=app.updated_at,
    )


def _institution_ref(row: Institution) -> InstitutionRef:
    return InstitutionRef.model_validate({"code": row.code, "name": row.name, "kind": row.kind})


def _read_application(container: Container, application_id: str, bidder: str) -> ApplicationOut:
    with container.sessions() as session:
        app = repository.bidders_application(session, application_id, bidder)
        if app is None:
            raise errors.ApplicationNotFound(f"no application {application_id!r}")
        return application_out(session, app)


def guarantee_out(session: Session, row: Guarantee) -> GuaranteeOut:
    app = session.get(Application, row.application_id)
    assert app is not None
    return GuaranteeOut(
        guarantee_no=row.guarantee_no,
        application_id=row.application_id,
        status=app.status,
        status_zh=GuaranteeStatus(app.status).zh,
        institution_code=row.institution_code,
        section_code=row.section_code,
        amount_fen=row.amount_fen,
        premium_fen=row.premium_fen,
        cover_start=row.cover_start,
        cover_end=row.cover_end,
        issued_at=row.issued_at,
        verification_code=row.verification_code,
        signed_data_sm3=row.signed_data_sm3,
        institution_key_id=row.institution_key_id,
        institution_signature=row.institution_signature,
        letter_sm3=row.letter_sm3,
        letter_url=f"/v1/guarantees/{row.guarantee_no}/letter.pdf" if row.letter_sm3 else None,
    )


@router.post(
    "/applications",
    status_code=201,
    response_model=ApplicationOut,
    responses=_problems(
        404,
        409,
        422,
        **{
            "404": "section_not_found",
            "409": "section_closed, application_exists",
            "422": "invalid_uscc, product_not_offered, bidder_name_required, validation",
        },
    ),
)
async def create_application(body: ApplicationIn, request: Request, caller: Bidder) -> ApplicationOut:
    """Start an order for a section and ask every eligible institution for a quote (deadline 3 s)."""
    container = container_of(request)
    broker = _broker(request)
    application_id = await anyio.to_thread.run_sync(
        lambda: broker.apply(
            bidder=caller.subject,
            bidder_name=body.bidder_name or caller.name,
            section_code=body.section_code,
            product=body.product,
        )
    )
    return await anyio.to_thread.run_sync(
        lambda: _read_application(container, application_id, caller.subject)
    )


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationOut,
    responses=_problems(404, **{"404": "application_not_found"}),
)
def get_application(application_id: ApplicationId, request: Request, caller: Bidder) -> ApplicationOut:
    return _read_application(container_of(request), application_id, caller.subject)


@router.post(
    "/applications/{application_id}/accept",
    response_model=ApplicationOut,
    responses=_problems(
        404,
        409,
        **{
            "404": "application_not_found, offer_not_found",
            "409": "offer_expired, already_paid, invalid_transition",
        },
    ),
)
def accept_offer(
    application_id: ApplicationId, body: AcceptIn, request: Request, caller: Bidder
) -> ApplicationOut:
    """Pick an offer; the institution reviews it (instantly, or later for reviewing institutions)."""
    _broker(request).accept(bidder=caller.subject, application_id=application_id, offer_id=body.offer_id)
    return _read_application(container_of(request), application_id, caller.subject)


@router.post(
    "/applications/{application_id}/payments",
    response_model=ApplicationOut,
    responses=_problems(
        402,
        404,
        409,
        422,
        **{
            "402": "payment_failed",
            "404": "application_not_found",
            "409": "already_paid, payment_in_progress, invalid_transition",
            "422": "unsupported_payment_method",
        },
    ),
)
def pay(application_id: ApplicationId, body: PaymentIn, request: Request, caller: Bidder) -> ApplicationOut:
    """Pay the premium; on success the institution issues the signed guarantee."""
    _broker(request).pay(bidder=caller.subject, application_id=application_id, method=body.method)
    return _read_application(container_of(request), application_id, caller.subject)


@router.post(
    "/applications/{application_id}/cancel",
    response_model=ApplicationOut,
    responses=_problems(404, 409, **{"404": "application_not_found", "409": "invalid_transition"}),
)
def cancel(application_id: ApplicationId, request: Request, caller: Bidder) -> ApplicationOut:
    """Cancel an order before issue; a paid premium is voided and refunded."""
    _broker(request).cancel(bidder=caller.subject, application_id=application_id)
    return _read_application(container_of(request), application_id, caller.subject)


@router.get("/guarantees", response_model=GuaranteePage)
def list_guarantees(
    request: Request,
    caller: Bidder,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str, Query(max_length=40)] = "",
) -> GuaranteePage:
    with container_of(request).sessions() as session:
        rows = repository.bidders_guarantees(session, caller.subject, after=after, limit=limit + 1)
        data = [guarantee_out(session, row) for row in rows[:limit]]
    has_more = len(rows) > limit
    return GuaranteePage(
        data=data, has_more=has_more, next_cursor=data[-1].guarantee_no if has_more else None
    )


def _own_guarantee(session: Session, guarantee_no: str, bidder: str) -> Guarantee:
    row = repository.guarantee(session, guarantee_no)
    if row is None or row.bidder_uscc != bidder:
        raise errors.GuaranteeNotFound(f"no guarantee {guarantee_no!r}")
    return row


@router.get(
    "/guarantees/{guarantee_no}",
    response_model=GuaranteeOut,
    responses=_problems(404, **{"404": "guarantee_not_found"}),
)
def get_guarantee(guarantee_no: GuaranteeNumber, request: Request, caller: Bidder) -> GuaranteeOut:
    with container_of(request).sessions() as session:
        return guarantee_out(session, _own_guarantee(session, guarantee_no, caller.subject))


@router.get(
    "/guarantees/{guarantee_no}/letter.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The signed letter (PAdES + SM2)"},
        **_problems(404, **{"404": "guarantee_not_found, letter_not_available"}),
    },
)
def get_letter(guarantee_no: GuaranteeNumber, request: Request, caller: Bidder) -> Response:
    with container_of(request).sessions() as session:
        row = _own_guarantee(session, guarantee_no, caller.subject)
        if row.letter_pdf is None:
            raise errors.LetterNotAvailable(f"guarantee {guarantee_no} has no stored letter")
        pdf = row.letter_pdf
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{guarantee_no}.pdf"'},
    )


@router.post(
    "/guarantees/{guarantee_no}/surrender",
    response_model=GuaranteeOut,
    responses=_problems(
        404,
        409,
        **{
            "404": "guarantee_not_found",
            "409": "guarantee_locked, surrender_not_allowed, invalid_transition",
        },
    ),
)
def surrender(
    guarantee_no: GuaranteeNumber, body: SurrenderIn, request: Request, caller: Bidder
) -> GuaranteeOut:
    """Ask for the premium back where the rules allow (tender terminated, failed, postponed; withdrawn
    or abandoned before bid opening). A guarantee locked at bid opening cannot be surrendered."""
    _broker(request).surrender(bidder=caller.subject, guarantee_no=guarantee_no, reason=body.reason)
    with container_of(request).sessions() as session:
        return guarantee_out(session, _own_guarantee(session, guarantee_no, caller.subject))
