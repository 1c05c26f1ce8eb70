"""Escrow bank adapters (contracts.escrow.EscrowBank)."""
