"""`gateway sm2 ...` (owned by the Signing work)."""

from __future__ import annotations

import click


@click.group(name="sm2")
def command() -> None:
    """SM2 keys and signatures (see signing/)."""
