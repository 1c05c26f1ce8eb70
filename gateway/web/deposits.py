"""The cash-deposit alternative: which virtual sub-account (虚拟子账号) a bidder pays its deposit into.

The real allocation (a stored, sequential serial per (section, bidder), see
gateway.finance.subaccounts) belongs to the deposits service, which is being built in parallel
(`GET /v1/sections/{code}/deposit-account`). Until it lands, the portal shows a PREVIEW number built
with the same layout and check digits from a hash of (section, bidder). A hash can collide, so the page
marks it as a demo preview and says not to transfer real money; swapping in the service is one
function (`deposit_account`) and the page stays the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from gateway.finance.subaccounts import MAX_SERIAL, make_subaccount
from gateway.sections.tables import Section

# The demo escrow account's prefix (what the bank assigns with its virtual-account service).
PREVIEW_ESCROW_PREFIX: Final = "440300158"
ESCROW_ACCOUNT_NAME: Final = "投标保证金专户"


@dataclass(frozen=True)
class DepositAccount:
    account_name: str  # payee: the center's escrow account
    subaccount: str  # digits only; the page groups them
    bank_name: str
    amount_fen: int
    preview: bool  # True while the number is not allocated by the deposits service


def deposit_account(section: Section, center_name: str, uscc: str) -> DepositAccount:
    digest = hashlib.sha256(f"{section.code}\n{uscc}".encode()).digest()
    serial = int.from_bytes(digest[:8], "big") % (MAX_SERIAL + 1)
    return DepositAccount(
        account_name=f"{center_name}{ESCROW_ACCOUNT_NAME}",
        subaccount=make_subaccount(PREVIEW_ESCROW_PREFIX, serial),
        bank_name="演示托管银行",
        amount_fen=section.deposit_fen,
        preview=True,
    )
