"""The gateway's chart of accounts and named postings over the `ledger` library.

`accounts` says which accounts exist (codes, kinds, balance constraints); `postings` builds the
transfers each business event writes, as `ledger.TransferSpec` dicts for ``book.submit``. Services
write them inside their own transaction: ``book.within(session.connection()).submit(specs)``.
"""

from gateway.bookkeeping.accounts import AccountSpec, open_accounts
from gateway.bookkeeping.postings import Posting

__all__ = ["AccountSpec", "Posting", "open_accounts"]
