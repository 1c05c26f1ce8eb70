"""The reference partner server: a bank in its own process (push mode, docs/partner-push.md)."""
