"""Deposit fixtures (the `world`: clock, center, escrow bank, sections, tokens)."""

from tests.deposits.deposit_factories import world

__all__ = ["world"]
