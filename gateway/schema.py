"""Every table the gateway's migrations manage: its own (one Base) and the ledger's."""

from __future__ import annotations

from sqlalchemy import MetaData

from gateway.db import Base


def all_metadata() -> list[MetaData]:
    # Importing the table modules registers them on Base.metadata.
    import gateway.audit.tables
    import gateway.broker.tables
    import gateway.centers.tables
    import gateway.claims.tables
    import gateway.deposits.tables
    import gateway.idempotency.tables
    import gateway.institutions.tables
    import gateway.outbox.tables
    import gateway.partner.tables
    import gateway.reconciliation.tables
    import gateway.sections.tables
    import gateway.system_auth.tables  # noqa: F401
    from ledger.tables import metadata as ledger_metadata

    return [Base.metadata, ledger_metadata]
