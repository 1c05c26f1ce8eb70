"""Reconciliation of the center's escrow bank account: statement imports, matching runs against the
ledger, exception lists that finance resolves, and their reports."""
