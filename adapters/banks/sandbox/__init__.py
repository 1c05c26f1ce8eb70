"""Embedded sandbox institutions: they quote, decide and issue like real ones, signing with real SM2
keys (and PAdES P-256 for the letter). `core` holds the shared behaviour; `bank`, `insurer` and
`guarantor` are the three demo institutions, independent of each other (import-linter)."""
