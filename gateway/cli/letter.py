"""`gateway letter ...` (owned by the Signing work)."""

from __future__ import annotations

import click


@click.group(name="letter")
def command() -> None:
    """SM2 keys and signatures (see signing/)."""
