"""Integration fixtures: the deposits `world` (settable clock, a center with its escrow account, the
escrow bank's key, bidder and finance tokens) reused across the end-to-end tests here."""

from tests.deposits.deposit_factories import world

__all__ = ["world"]
