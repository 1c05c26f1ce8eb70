"""Small builders for reconciliation tests: escrow ledger items with the deposits side's metadata,
and statement files in the three formats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from gateway.bookkeeping import postings
from ledger import Ledger

CENTER = "SZGGZY"
ESCROW_NO = "110060149018800012345"
USCC = "91440300MA5FXXXX1A"


def book_of(session: Session) -> Ledger:
    bind = session.get_bind()
    return Ledger(bind.engine if hasattr(bind, "engine") else bind).within(session.connection())  # type: ignore[arg-type]


def meta(ref: str, party: str, day: date, name: str = "某建设工程有限公司") -> dict[str, str]:
    return {
        "bank_ref": ref,
        "counterparty_account": party,
        "counterparty_name": name,
        "value_date": day.isoformat(),
    }


def deposit(session: Session, transfer_id: str, amount: int, *, ref: str, party: str, day: date,
            section: str = "S1", center: str = CENTER) -> None:  # fmt: skip
    postings.deposit_received(
        id=transfer_id, center=center, uscc=USCC, section=section, amount=amount, meta=meta(ref, party, day)
    ).write(book_of(session))


def refund(session: Session, instruction: str, deposit_fen: int, interest_fen: int, *, party: str, day: date,
           section: str = "S1", center: str = CENTER) -> None:  # fmt: skip
    if interest_fen:
        postings.interest_accrual(
            id=f"{instruction}-accrual", center=center, uscc=USCC, section=section, amount=interest_fen
        ).write(book_of(session))
    postings.refund_instruction(
        id=instruction, center=center, uscc=USCC, section=section, deposit=deposit_fen,
        interest=interest_fen, meta=meta(instruction, party, day),
    ).write(book_of(session))  # fmt: skip


@dataclass(frozen=True)
class Row:
    amount: int
    credit: bool
    day: date
    bank_ref: str
    customer_ref: str = ""
    party: str = "6222000011112222"
    name: str = "某建设工程有限公司"
    reversal: bool = False


def mt940(rows: Sequence[Row], account: str = ESCROW_NO) -> bytes:
    out = [":20:STMT1", f":25:{account}", ":28C:1/1", ":60F:C260301CNY0,00"]
    for row in rows:
        mark = ("R" if row.reversal else "") + ("C" if row.credit != row.reversal else "D")
        amount = f"{row.amount // 100},{row.amount % 100:02d}"
        out.append(f":61:{row.day:%y%m%d}{mark}{amount}NTRF{row.customer_ref or 'NONREF'}//{row.bank_ref}")
        out.append(f":86:{row.name} {row.party}")
    out += [":62F:C260301CNY0,00", "-"]
    return "\r\n".join(out).encode()


def camt053(rows: Sequence[Row], account: str = ESCROW_NO) -> bytes:
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    entries = []
    for row in rows:
        party = "Dbtr" if row.credit else "Cdtr"
        entries.append(
            f"<Ntry><Amt Ccy='CNY'>{row.amount // 100}.{row.amount % 100:02d}</Amt>"
            f"<CdtDbtInd>{'CRDT' if row.credit else 'DBIT'}</CdtDbtInd>"
            f"{'<RvslInd>true</RvslInd>' if row.reversal else ''}"
            f"<BookgDt><Dt>{row.day}</Dt></BookgDt><ValDt><Dt>{row.day}</Dt></ValDt>"
            f"<AcctSvcrRef>{row.bank_ref}</AcctSvcrRef><NtryDtls><TxDtls>"
            f"{f'<Refs><EndToEndId>{row.customer_ref}</EndToEndId></Refs>' if row.customer_ref else ''}"
            f"<RltdPties><{party}><Nm>{escape(row.name)}</Nm></{party}><{party}Acct><Id><Othr><Id>{row.party}</Id>"
            f"</Othr></Id></{party}Acct></RltdPties></TxDtls></NtryDtls></Ntry>"
        )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><Document xmlns='{ns}'><BkToCstmrStmt><Stmt><Id>S1</Id>"
        f"<Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>CNY</Ccy></Acct>{''.join(entries)}"
        "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def csv_cn(rows: Sequence[Row], account: str = ESCROW_NO, encoding: str = "gbk") -> bytes:
    out = [
        f"账号: {account}",
        "流水号,交易日期,交易时间,借方发生额,贷方发生额,对方户名,对方账号,摘要,客户参考号",
    ]
    for row in rows:
        amount = f'"{row.amount // 100:,}.{row.amount % 100:02d}"'
        summary = "退汇" if row.reversal else "保证金"
        out.append(
            f"{row.bank_ref},{row.day:%Y-%m-%d},10:00:00,{'' if row.credit else amount},"
            f"{amount if row.credit else ''},{row.name},{row.party},{summary},{row.customer_ref}"
        )
    return "\n".join(out).encode(encoding)


WRITERS = {"mt940": mt940, "camt053": camt053, "csv": csv_cn}
