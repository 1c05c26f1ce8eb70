"""Deposit use cases: sub-accounts, deposit notices, the exception queue, forfeits.

Nothing here commits (except `receive_notice`, which owns its transaction to make a concurrent
duplicate find the first notice); nothing calls the bank. Every money movement goes through the
ledger in the same transaction as the row it explains.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.audit import service as audit
from gateway.bookkeeping import postings
from gateway.deposits import errors, rules
from gateway.deposits.ledgering import bank_meta, write
from gateway.deposits.tables import (
    Deposit,
    DepositException,
    DepositNotice,
    DepositSubaccount,
    EscrowAccount,
)
from gateway.finance.subaccounts import SubaccountError, make_subaccount, parse_subaccount
from gateway.outbox.service import emit
from gateway.sections.tables import Section
from ledger import ExistsWithDifferentContent
from signing.canonical import canonical_json
from signing.sm3 import sm3_hex


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


# ---------------------------------------------------------------- escrow accounts and sub-accounts


def register_escrow_account(
    session: Session,
    *,
    center_code: str,
    bank_code: str,
    bank_name: str,
    account_no: str,
    account_name: str,
    subaccount_prefix: str,
) -> EscrowAccount:
    make_subaccount(subaccount_prefix, 0)  # refuses a bad prefix
    row = session.get(EscrowAccount, center_code)
    if row is None:
        row = EscrowAccount(center_code=center_code)
        session.add(row)
    row.bank_code, row.bank_name, row.account_no = bank_code, bank_name, account_no
    row.account_name, row.subaccount_prefix = account_name, subaccount_prefix
    session.flush()
    return row


def escrow_of_center(session: Session, center_code: str) -> EscrowAccount:
    row = session.get(EscrowAccount, center_code)
    if row is None:
        raise errors.EscrowAccountMissing(f"center {center_code} has no escrow account")
    return row


def escrow_of_bank(session: Session, bank_code: str) -> EscrowAccount:
    row = session.scalar(select(EscrowAccount).where(EscrowAccount.bank_code == bank_code))
    if row is None:
        raise errors.EscrowAccountMissing(f"bank {bank_code} keeps no escrow account here")
    return row


@dataclass(frozen=True)
class DepositAccountView:
    subaccount: str
    section: Section
    escrow: EscrowAccount


def deposit_account(
    session: Session, *, section_code: str, bidder_uscc: str, bidder_name: str | None, now: datetime
) -> DepositAccountView:
    """The bidder's sub-account for the section, allocated on first ask (the serial is the row id)."""
    section = session.get(Section, section_code)
    if section is None:
        raise errors.SectionNotFound(f"no section {section_code!r}")
    escrow = escrow_of_center(session, section.center_code)
    row = _subaccount(session, section_code, bidder_uscc)
    if row is None:
        try:
            with session.begin_nested():
                row = DepositSubaccount(
                    center_code=section.center_code,
                    section_code=section_code,
                    bidder_uscc=bidder_uscc,
                    bidder_name=bidder_name,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                row.number = make_subaccount(escrow.subaccount_prefix, row.serial)
                session.flush()
        except IntegrityError:  # the same bidder asked twice at once: the other one allocated it
            row = _subaccount(session, section_code, bidder_uscc)
            assert row is not None
    if bidder_name and row.bidder_name != bidder_name:
        row.bidder_name = bidder_name
    assert row.number is not None
    return DepositAccountView(row.number, section, escrow)


def _subaccount(session: Session, section_code: str, bidder_uscc: str) -> DepositSubaccount | None:
    return session.scalar(
        select(DepositSubaccount).where(
            DepositSubaccount.section_code == section_code, DepositSubaccount.bidder_uscc == bidder_uscc
        )
    )


# ---------------------------------------------------------------- deposit notices


@dataclass(frozen=True)
class Notice:
    bank_reference: str
    subaccount: str
    amount_fen: int
    payer_name: str
    payer_account: str
    value_date: date

    def content_sm3(self) -> str:
        return sm3_hex(
            canonical_json(
                {
                    "bank_reference": self.bank_reference,
                    "subaccount": "".join(self.subaccount.split()),
                    "amount_fen": self.amount_fen,
                    "payer_name": self.payer_name,
                    "payer_account": self.payer_account,
                    "value_date": self.value_date.isoformat(),
                }
            )
        )


@dataclass(frozen=True)
class NoticeOutcome:
    notice_id: str
    outcome: str  # matched | exception
    deposit_id: str | None
    exception_id: str | None
    reason: str | None
    replayed: bool


def receive_notice(
    sessions: sessionmaker[Session], notice: Notice, *, bank_code: str, now: datetime
) -> NoticeOutcome:
    """Post a deposit notice once: by (bank, bank reference). A concurrent duplicate waits on the
    unique constraint, fails its insert, and then reads the first one's outcome."""
    content = notice.content_sm3()
    try:
        with sessions() as session, session.begin():
            existing = _notice(session, bank_code, notice.bank_reference)
            if existing is not None:
                return _replay(session, existing, content)
            return _apply_notice(session, notice, content, bank_code=bank_code, now=now)
    except IntegrityError:
        with sessions() as session:
            existing = _notice(session, bank_code, notice.bank_reference)
            if existing is None:
                raise
            return _replay(session, existing, content)


def _notice(session: Session, bank_code: str, reference: str) -> DepositNotice | None:
    return session.scalar(
        select(DepositNotice).where(
            DepositNotice.bank_code == bank_code, DepositNotice.bank_reference == reference
        )
    )


def _replay(session: Session, row: DepositNotice, content: str) -> NoticeOutcome:
    if row.content_sm3 != content:
        raise errors.NoticeReferenceReused(
            f"bank reference {row.bank_reference} was already notified with different content"
        )
    reason = None
    if row.exception_id is not None:
        exception = session.get(DepositException, row.exception_id)
        reason = exception.reason if exception else None
    return NoticeOutcome(row.id, row.outcome, row.deposit_id, row.exception_id, reason, replayed=True)


def _apply_notice(
    session: Session, notice: Notice, content: str, *, bank_code: str, now: datetime
) -> NoticeOutcome:
    escrow = escrow_of_bank(session, bank_code)
    center = escrow.center_code
    row = DepositNotice(
        id=new_id("ntc"),
        bank_code=bank_code,
        bank_reference=notice.bank_reference,
        center_code=center,
        content_sm3=content,
        subaccount="".join(notice.subaccount.split()),
        amount_fen=notice.amount_fen,
        payer_name=notice.payer_name,
        payer_account=notice.payer_account,
        value_date=notice.value_date,
        outcome="matched",
        received_at=now,
    )
    session.add(row)
    session.flush()  # the unique (bank, reference) decides here which of two concurrent notices wins
    holder, section, reason, detail = _judge(session, notice, escrow, now)
    meta = bank_meta(
        bank_ref=notice.bank_reference,
        counterparty_account=notice.payer_account,
        counterparty_name=notice.payer_name,
        value_date=notice.value_date,
        notice_id=row.id,
    )
    if reason is not None:
        exception = DepositException(
            id=new_id("dex"),
            center_code=center,
            notice_id=row.id,
            reason=reason,
            detail=detail[:500],
            amount_fen=notice.amount_fen,
            payer_name=notice.payer_name,
            payer_account=notice.payer_account,
            bank_reference=notice.bank_reference,
            value_date=notice.value_date,
            section_code=holder.section_code if holder else None,
            bidder_uscc=holder.bidder_uscc if holder else None,
            status="open",
            created_at=now,
            updated_at=now,
        )
        session.add(exception)
        row.outcome, row.exception_id = "exception", exception.id
        write(
            session,
            postings.deposit_unmatched(id=f"{row.id}:in", center=center, amount=notice.amount_fen, meta=meta),
            now,
        )
        session.flush()
        return NoticeOutcome(row.id, "exception", None, exception.id, reason, replayed=False)
    assert holder is not None
    assert section is not None
    assert holder.bidder_name is not None
    deposit = _new_deposit(
        session,
        center=center,
        section=section,
        bidder_uscc=holder.bidder_uscc,
        bidder_name=holder.bidder_name,
        subaccount=row.subaccount,
        amount_fen=notice.amount_fen,
        payer_name=notice.payer_name,
        payer_account=notice.payer_account,
        bank_reference=notice.bank_reference,
        value_date=notice.value_date,
        now=now,
    )
    row.deposit_id = deposit.id
    write(
        session,
        postings.deposit_received(
            id=f"{row.id}:in",
            center=center,
            uscc=holder.bidder_uscc,
            section=section.code,
            amount=notice.amount_fen,
            meta=meta,
        ),
        now,
    )
    session.flush()
    return NoticeOutcome(row.id, "matched", deposit.id, None, None, replayed=False)


def _judge(
    session: Session, notice: Notice, escrow: EscrowAccount, now: datetime
) -> tuple[DepositSubaccount | None, Section | None, str | None, str]:
    """(holder, section, reason, detail): reason None means the notice is a clean deposit."""
    try:
        parse_subaccount(notice.subaccount, escrow.subaccount_prefix)
    except SubaccountError as exc:
        return None, None, rules.UNKNOWN_SUBACCOUNT, exc.detail
    number = "".join(notice.subaccount.split())
    holder = session.scalar(select(DepositSubaccount).where(DepositSubaccount.number == number))
    if holder is None or holder.center_code != escrow.center_code:
        return None, None, rules.UNKNOWN_SUBACCOUNT, f"sub-account {number} was never given to a bidder"
    section = session.get(Section, holder.section_code)
    assert section is not None
    late = rules.is_late(
        value_date=notice.value_date,
        received_at=now,
        deadline=section.bid_deadline_at,
        section_open=section.status == "open",
    )
    if late:
        return (
            holder,
            section,
            rules.AFTER_DEADLINE,
            (
                f"value date {notice.value_date} / notice at {now.isoformat()} after the bid deadline "
                f"{section.bid_deadline_at.isoformat()} (section {section.status})"
            ),
        )
    if notice.amount_fen != section.deposit_fen:
        return (
            holder,
            section,
            rules.WRONG_AMOUNT,
            (f"{notice.amount_fen} fen paid, the section's deposit is {section.deposit_fen} fen"),
        )
    if not rules.same_name(notice.payer_name, holder.bidder_name):
        return (
            holder,
            section,
            rules.PAYER_NAME_MISMATCH,
            (f"payer {notice.payer_name!r} is not the bidder {holder.bidder_name!r}"),
        )
    if active_deposit(session, section.code, holder.bidder_uscc) is not None:
        return holder, section, rules.DUPLICATE_DEPOSIT, "the bidder already has a deposit for this section"
    return holder, section, None, ""


def active_deposit(session: Session, section_code: str, bidder_uscc: str) -> Deposit | None:
    return session.scalar(
        select(Deposit)
        .where(
            Deposit.section_code == section_code,
            Deposit.bidder_uscc == bidder_uscc,
            Deposit.status.in_(rules.ACTIVE),
        )
        .order_by(Deposit.received_at)
        .limit(1)
    )


def _new_deposit(
    session: Session,
    *,
    center: str,
    section: Section,
    bidder_uscc: str,
    bidder_name: str,
    subaccount: str,
    amount_fen: int,
    payer_name: str,
    payer_account: str,
    bank_reference: str,
    value_date: date,
    now: datetime,
) -> Deposit:
    # A deposit matched after the section closed (by finance, from the queue) is owed back at once.
    closed = section.status != "open"
    deposit = Deposit(
        id=new_id("dep"),
        center_code=center,
        section_code=section.code,
        bidder_uscc=bidder_uscc,
        bidder_name=bidder_name,
        tenderee_uscc=section.tenderee_uscc,
        subaccount=subaccount,
        amount_fen=amount_fen,
        interest_accrued_fen=0,
        payer_name=payer_name,
        payer_account=payer_account,
        bank_reference=bank_reference,
        value_date=value_date,
        received_at=now,
        status=rules.REFUNDABLE if closed else rules.HELD,
        refund_due_on=rules.refund_due(rules.local_date(now)) if closed else None,
        updated_at=now,
    )
    session.add(deposit)
    session.flush()
    emit(
        session,
        "deposit.received",
        {
            "deposit_id": deposit.id,
            "section_code": section.code,
            "bidder_uscc": bidder_uscc,
            "amount_fen": amount_fen,
            "value_date": value_date.isoformat(),
            "bank_reference": bank_reference,
        },
        center=center,
    )
    return deposit


# ---------------------------------------------------------------- exception queue


def lock_open_exception(session: Session, exception_id: str, center: str) -> DepositException:
    """The center's exception under a row lock, still waiting for finance to resolve it."""
    row = session.scalar(
        select(DepositException)
        .where(DepositException.id == exception_id, DepositException.center_code == center)
        .with_for_update()
    )
    if row is None:
        raise errors.ExceptionNotFound(f"no deposit exception {exception_id!r}")
    if row.status != "open":
        raise errors.WrongState(f"exception {exception_id} is {row.status}, not open")
    return row


def close_exception(
    session: Session, row: DepositException, *, status: str, action: str, note: str, actor: str,
    now: datetime, after: dict[str, object],
) -> None:  # fmt: skip
    """Finance's resolution of an exception: its new status, who resolved it and why, and the audit
    record (`deposit_exception.<action>`, with `after` and the note)."""
    row.status = status
    row.resolution_note, row.resolved_by, row.updated_at = note, actor, now
    audit.append(session, actor=actor, action=f"deposit_exception.{action}", object_type="deposit_exception",
                 object_id=row.id, after={**after, "note": note}, at=now)  # fmt: skip


def assign_exception(
    session: Session,
    exception_id: str,
    *,
    center: str,
    section_code: str,
    bidder_uscc: str,
    bidder_name: str | None,
    note: str,
    actor: str,
    now: datetime,
) -> Deposit:
    """Finance matched the money by hand: it becomes the bidder's deposit for the section."""
    row = lock_open_exception(session, exception_id, center)
    section = session.get(Section, section_code)
    if section is None or section.center_code != center:
        raise errors.SectionNotFound(f"no section {section_code!r}")
    if active_deposit(session, section_code, bidder_uscc) is not None:
        raise errors.WrongState(f"bidder {bidder_uscc} already has a deposit for {section_code}")
    holder = _subaccount(session, section_code, bidder_uscc)
    name = bidder_name or (holder.bidder_name if holder else None) or row.payer_name
    deposit = _new_deposit(
        session,
        center=center,
        section=section,
        bidder_uscc=bidder_uscc,
        bidder_name=name,
        subaccount=(holder.number or "") if holder else "",
        amount_fen=row.amount_fen,
        payer_name=row.payer_name,
        payer_account=row.payer_account,
        bank_reference=row.bank_reference,
        value_date=row.value_date,
        now=now,
    )
    write(
        session,
        postings.suspense_assigned(
            id=f"{row.id}:assign",
            center=center,
            uscc=bidder_uscc,
            section=section_code,
            amount=row.amount_fen,
            meta={"exception_id": row.id, "note": note},
        ),
        now,
    )
    row.deposit_id = deposit.id
    close_exception(
        session, row, status="assigned", action="assign", note=note, actor=actor, now=now,
        after={"deposit_id": deposit.id, "section_code": section_code, "bidder_uscc": bidder_uscc},
    )  # fmt: skip
    session.flush()
    return deposit


# ---------------------------------------------------------------- forfeits


def lock_deposit_row(session: Session, deposit_id: str, center: str | None = None) -> Deposit:
    query = select(Deposit).where(Deposit.id == deposit_id)
    if center is not None:
        query = query.where(Deposit.center_code == center)
    row = session.scalar(query.with_for_update())
    if row is None:
        raise errors.DepositNotFound(f"no deposit {deposit_id!r}")
    return row


def forfeit_deposit(
    session: Session, deposit_id: str, *, center: str, reason: str, actor: str, now: datetime
) -> Deposit:
    """A claim upheld or a withdrawal after opening: the deposit becomes owed to the tenderee."""
    row = lock_deposit_row(session, deposit_id, center)
    if row.status not in (rules.HELD, rules.LOCKED, rules.REFUNDABLE):
        raise errors.WrongState(f"deposit {deposit_id} is {row.status}; it cannot be forfeited")
    write(
        session,
        postings.forfeit(
            id=f"{row.id}:forfeit",
            uscc=row.bidder_uscc,
            tenderee=row.tenderee_uscc,
            section=row.section_code,
            amount=row.amount_fen,
            meta={"reason": reason, "actor": actor},
        ),
        now,
    )
    before = row.status
    row.status, row.forfeit_reason, row.refund_due_on, row.updated_at = rules.FORFEITED, reason, None, now
    audit.append(
        session,
        actor=actor,
        action="deposit.forfeit",
        object_type="deposit",
        object_id=row.id,
        before={"status": before},
        after={"status": row.status, "reason": reason},
        at=now,
    )
    session.flush()
    return row


# ---------------------------------------------------------------- the bank's interest credits


def record_interest_credit(
    session: Session,
    *,
    center: str,
    bank_reference: str,
    amount_fen: int,
    value_date: date,
    actor: str,
    now: datetime,
) -> str:
    """The escrow bank credited interest (结息) to the escrow account; it funds the interest paid
    back with refunds. Idempotent by bank reference; returns the ledger transfer id."""
    escrow = escrow_of_center(session, center)
    transfer_id = f"eic:{center}:{sm3_hex(bank_reference.encode())[:32]}"
    meta = bank_meta(
        bank_ref=bank_reference,
        counterparty_account=escrow.account_no,
        counterparty_name=escrow.bank_name,
        value_date=value_date,
    )
    try:
        write(
            session,
            postings.escrow_interest_credited(id=transfer_id, center=center, amount=amount_fen, meta=meta),
            now,
        )
    except ExistsWithDifferentContent as exc:
        raise errors.InterestCreditConflict(f"bank reference {bank_reference} already recorded") from exc
    audit.append(
        session,
        actor=actor,
        action="escrow.interest_credit",
        object_type="ledger_transfer",
        object_id=transfer_id,
        after={"bank_reference": bank_reference, "amount_fen": amount_fen},
        at=now,
    )
    return transfer_id
