"""The bid-opening check's I/O: gather the facts for every named bidder in a few set queries (one per
table, never one per bidder), re-verify every guarantee cryptographically, decide with the pure
`security_check.evaluate`, and lock what is valid when asked, in the caller's transaction.

Re-verification per guarantee: SM3 of the stored canonical signed data equals the stored digest; the
institution's SM2 signature over those exact bytes verifies with the institution's certificate
(parsed once per certificate per process); the stored letter's SM3 equals the digest stored at issue.

Speed (bench/opening): the guarantees are read as Core rows in one query (with their order's status
and whether it was paid), in chunks, PostgreSQL's binary protocol for the letters; each chunk goes
to a thread pool as it arrives, so reading, the other queries and the verification (SM3 and SM2 run
in C without the GIL) overlap.
"""

from __future__ import annotations

import binascii
import functools
import json
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, exists, select
from sqlalchemy.orm import Session

from contracts.uscc import Uscc, UsccError
from gateway.audit import service as audit
from gateway.broker import service as broker
from gateway.broker.machine import Event
from gateway.broker.tables import Application, Guarantee, Payment
from gateway.centers import errors, service
from gateway.centers.security_check import (
    Bidder,
    DepositFacts,
    GuaranteeFacts,
    PendingOrder,
    Reason,
    SectionFacts,
    Verdict,
    evaluate,
)
from gateway.db import BINARY_RESULTS, one_of
from gateway.deposits import rules as deposit_rules
from gateway.deposits.tables import Deposit
from gateway.finance import section_events as finance
from gateway.institutions.tables import Institution
from gateway.outbox.service import emit
from gateway.sections.tables import Section
from signing.certificates import Sm2Certificate
from signing.errors import SigningError
from signing.sm2 import Sm2PublicKey, b64decode_strict, verify
from signing.sm3 import sm3_hex

_IGNORED_ORDERS = ("rejected", "expired_offer")  # ended without ever securing anything


@dataclass(frozen=True)
class Result:
    bidder: Bidder
    verdict: Verdict
    locked: bool


def parse_bidders(raw: Sequence[tuple[str, str]]) -> list[Bidder]:
    """Every USCC must be valid: the first bad one is refused with its index (nothing is checked)."""
    bidders = []
    for index, (uscc, name) in enumerate(raw):
        try:
            bidders.append(Bidder(str(Uscc.parse(uscc)), name))
        except UsccError as exc:
            raise errors.InvalidBidderUscc(f"bidders[{index}].uscc: {exc}", index=index) from exc
    return bidders


@functools.lru_cache(maxsize=256)
def _public_key(certificate_pem: str) -> Sm2PublicKey | None:
    try:
        return Sm2Certificate.from_pem(certificate_pem).sm2_public_key()
    except (SigningError, ValueError):
        return None


# What the check reads of a stored guarantee: Core rows (no ORM identity map for 1,000 letters).
_STORED = (
    Guarantee.guarantee_no,
    Guarantee.application_id,
    Guarantee.bidder_uscc,
    Guarantee.institution_code,
    Guarantee.cover_start,
    Guarantee.cover_end,
    Guarantee.issued_at,
    Guarantee.signed_data,
    Guarantee.signed_data_sm3,
    Guarantee.institution_signature,
    Guarantee.letter_pdf,
    Guarantee.letter_sm3,
)
_StoredRow = Row[*tuple[Any, ...]]
_CHUNK = 50  # rows fetched (and handed to a verifier) at a time


def authentic(guarantee: _StoredRow, key: Sm2PublicKey | None) -> tuple[bool, dict[str, object]]:
    """The cryptographic verdict on a stored guarantee (a row of `_STORED`), and the stored signed
    value as far as it can be read (so that a failed signature is reported as that, not as every
    field it might have changed)."""
    signed = guarantee.signed_data.encode()
    try:
        parsed = json.loads(signed)
    except ValueError:
        parsed = None
    value: dict[str, object] = parsed if isinstance(parsed, dict) else {}
    if key is None or not value or sm3_hex(signed) != guarantee.signed_data_sm3:
        return False, value
    has_letter = guarantee.letter_pdf is not None or guarantee.letter_sm3 is not None
    if has_letter and (guarantee.letter_pdf is None or sm3_hex(guarantee.letter_pdf) != guarantee.letter_sm3):
        return False, value
    try:
        return verify(key, signed, b64decode_strict(guarantee.institution_signature)), value
    except (SigningError, ValueError, binascii.Error):
        return False, value


def _facts(guarantee: _StoredRow, key: Sm2PublicKey | None) -> GuaranteeFacts:
    ok, value = authentic(guarantee, key)

    def text(name: str) -> str:
        item = value.get(name)
        return item if isinstance(item, str) else ""

    def day(name: str, fallback: date) -> date:
        try:
            return date.fromisoformat(text(name))
        except ValueError:
            return fallback

    amount = value.get("amount_fen")
    return GuaranteeFacts(
        guarantee_no=guarantee.guarantee_no,
        status=guarantee.status,
        paid=bool(guarantee.paid),
        authentic=ok and text("guarantee_no") == guarantee.guarantee_no,
        section_code=text("section_code"),
        applicant_uscc=text("applicant_uscc"),
        applicant_name=text("applicant_name"),
        beneficiary_uscc=text("beneficiary_uscc"),
        beneficiary_name=text("beneficiary_name"),
        amount_fen=amount if isinstance(amount, int) and not isinstance(amount, bool) else 0,
        cover_start=day("cover_start", guarantee.cover_start),
        # The cover as it stands: the signed end, or later when the institution extended it.
        cover_end=max(day("cover_end", guarantee.cover_end), guarantee.cover_end),
        issued_at=guarantee.issued_at,
    )


def _examine(
    rows: Sequence[_StoredRow], keys: dict[str, Sm2PublicKey | None]
) -> list[tuple[str, GuaranteeFacts]]:
    """A chunk of stored guarantees, each as (the bidder it is stored for, its verified facts)."""
    return [(row.bidder_uscc, _facts(row, keys.get(row.institution_code))) for row in rows]


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="security-check")


def section_facts(section: Section) -> SectionFacts:
    cover_from, cover_until = service.required_cover(section)
    return SectionFacts(
        code=section.code,
        tenderee_uscc=section.tenderee_uscc,
        tenderee_name=section.tenderee_name,
        deposit_fen=section.deposit_fen,
        bid_deadline_at=section.bid_deadline_at,
        cover_from=cover_from,
        cover_until=cover_until,
    )


def _guarantees(
    session: Session, section_code: str, wanted: set[str]
) -> list[Future[list[tuple[str, GuaranteeFacts]]]]:
    """The named bidders' guarantees for the section, each re-verified. One query (guarantee, order
    status, paid) read in chunks, each chunk verified on the pool while the next is read: SM3 and
    SM2 run in C without the GIL, so reading and verifying overlap and use every core."""
    of_section = (Guarantee.section_code == section_code, one_of(session, Guarantee.bidder_uscc, wanted))
    keys = {
        code: _public_key(pem)
        for code, pem in session.execute(
            select(Institution.code, Institution.certificate_pem).where(
                Institution.code.in_(select(Guarantee.institution_code).where(*of_section).distinct())
            )
        )
    }
    paid = and_(
        Application.section_code == section_code,
        exists().where(Payment.application_id == Application.id, Payment.status == "succeeded"),
    )
    rows = session.execute(
        select(*_STORED, Application.status, paid.label("paid"))
        .join(Application, Application.id == Guarantee.application_id)
        .where(*of_section)
        .execution_options(yield_per=_CHUNK, **{BINARY_RESULTS: True})
    )
    return [_pool().submit(_examine, chunk, keys) for chunk in rows.partitions()]


def check(
    session: Session, section: Section, bidders: Sequence[Bidder], *, lock: bool, now: datetime
) -> list[Result]:
    facts = section_facts(section)
    wanted = {bidder.uscc for bidder in bidders}
    verifying = _guarantees(session, section.code, wanted)
    # The other facts are read while the pool is still verifying.
    pending: dict[str, list[PendingOrder]] = {}
    for app_id, uscc, status in session.execute(
        select(Application.id, Application.bidder_uscc, Application.status)
        .where(
            Application.section_code == section.code,
            Application.guarantee_no.is_(None),
            Application.status.not_in(_IGNORED_ORDERS),
        )
        .order_by(Application.created_at)
    ):
        if uscc in wanted:
            pending.setdefault(uscc, []).append(PendingOrder(app_id, status))
    deposits = _deposits(session, section.code, wanted)
    by_bidder: dict[str, list[GuaranteeFacts]] = {}
    for chunk in verifying:
        for uscc, guarantee in chunk.result():
            by_bidder.setdefault(uscc, []).append(guarantee)
    for found in by_bidder.values():  # a bidder's guarantees in a stable order (not the table's)
        found.sort(key=lambda g: (g.issued_at, g.guarantee_no))
    results = []
    for bidder in bidders:
        deposit = deposits.get(bidder.uscc)
        deposit_facts = (
            DepositFacts(
                deposit.id,
                deposit.section_code,
                deposit.bidder_uscc,
                deposit.amount_fen,
                deposit.received_at,
                deposit.status,
            )
            if deposit is not None
            else None
        )
        verdict = evaluate(
            facts, bidder, by_bidder.get(bidder.uscc, []), pending.get(bidder.uscc, []), deposit_facts
        )
        status_of = {g.guarantee_no: g.status for g in by_bidder.get(bidder.uscc, [])}
        locked = verdict.valid and (
            status_of.get(verdict.reference or "") == "locked"
            or (deposit_facts is not None and verdict.kind == "deposit" and deposit_facts.status == "locked")
        )
        results.append(Result(bidder, verdict, locked))
    if lock:
        results = _lock_all(session, section, results, now=now)
    return results


def _deposits(session: Session, section_code: str, wanted: set[str]) -> dict[str, Deposit]:
    """Each named bidder's cash deposit for the section in one query: what `finance.find_deposit`
    answers per bidder (the earliest received among those still owed), not one query per bidder."""
    found: dict[str, Deposit] = {}
    for row in session.scalars(
        select(Deposit)
        .where(Deposit.section_code == section_code, Deposit.status.in_(deposit_rules.ACTIVE))
        .order_by(Deposit.received_at)
    ):
        if row.bidder_uscc in wanted:
            found.setdefault(row.bidder_uscc, row)
    return found


def _lock_all(session: Session, section: Section, results: list[Result], *, now: datetime) -> list[Result]:
    """Lock every valid, not yet locked security: guarantees through the broker's LOCK transition,
    cash deposits through finance. The orders are row-locked in one query, the deposits in another;
    each institution hears of its locked guarantees in one event."""
    to_lock = [r for r in results if r.verdict.valid and not r.locked and r.verdict.reference is not None]
    numbers = [r.verdict.reference for r in to_lock if r.verdict.kind == "guarantee"]
    apps = {
        app.guarantee_no: app
        for app in session.scalars(
            select(Application)
            .where(
                Application.section_code == section.code, one_of(session, Application.guarantee_no, numbers)
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    chosen = {id(r) for r in to_lock}
    locked: dict[str, list[str]] = {}
    to_transition: list[Application] = []
    deposits: list[str] = []
    out = []
    for result in results:
        verdict = result.verdict
        if id(result) not in chosen or verdict.reference is None:
            out.append(result)
            continue
        if verdict.kind == "deposit":
            deposits.append(verdict.reference)
            out.append(Result(result.bidder, verdict, True))
            continue
        app = apps.get(verdict.reference)
        if app is None or app.status not in ("issued", "locked"):
            # changed since it was read (a concurrent surrender or cancellation): report that
            status = app.status if app is not None else "cancelled"
            reason = Reason.SURRENDERED if status == "surrendered" else Reason.CANCELLED
            out.append(
                Result(result.bidder, Verdict(verdict.kind, verdict.reference, False, (reason,)), False)
            )
            continue
        if app.status == "issued":
            to_transition.append(app)
            locked.setdefault(app.institution_code or "", []).append(verdict.reference)
        out.append(Result(result.bidder, verdict, True))
    finance.lock_deposits(session, deposits, now=now)
    # One bulk LOCK: the same per-order state change, audit record and application.locked event as
    # broker.transition, written with one INSERT per table instead of three statements per order.
    broker.transition_many(
        session, to_transition, Event.LOCK, actor=f"center:{section.center_code}", now=now,
        reason="security check at bid opening",
    )  # fmt: skip
    for institution_code, guarantee_numbers in sorted(locked.items()):
        emit(
            session,
            "guarantees.locked",
            {
                "section_code": section.code,
                "center_code": section.center_code,
                "institution_code": institution_code,
                "guarantee_nos": guarantee_numbers,
            },
        )
    return out


def record_check(
    session: Session, section: Section, results: Sequence[Result], *, lock: bool, now: datetime
) -> None:
    """One audit record per check (who was named, what was found), so the answer given can be shown."""
    audit.append(
        session,
        actor=f"center:{section.center_code}",
        action="section.security_check",
        object_type="section",
        object_id=section.code,
        after={
            "lock": lock,
            "results": [
                {
                    "uscc": r.bidder.uscc,
                    "valid": r.verdict.valid,
                    "reference": r.verdict.reference,
                    "reasons": [reason.value for reason in r.verdict.reasons],
                    "locked": r.locked,
                }
                for r in results
            ],
        },
        at=now,
    )
