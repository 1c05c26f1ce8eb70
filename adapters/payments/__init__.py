"""Payment providers (premiums paid by bidders)."""
