"""`gateway letter ...` (owned by the Signing work): offline verification of a signed guarantee letter.

`verify` prints one line per check (ok/FAIL) and exits 0 only when every check holds, 1 when one
fails, 2 on bad input (not a PDF, unreadable trust bundle).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from gateway.cli.common import CliError
from signing.certificates import TrustStore
from signing.errors import SigningError
from signing.letter import issue_letter, verify_letter
from signing.letter.sandbox import sample_letter, sandbox_pki


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


@click.group(name="letter")
def command() -> None:
    """Guarantee letters (PDF): verify signatures offline (see signing/)."""


@command.command("verify")
@click.option("--trust", "trust_paths", multiple=True, help="PEM bundle of trusted roots (repeatable).")
@click.argument("file")
def verify_command(trust_paths: tuple[str, ...], file: str) -> None:
    """Check FILE.pdf: PAdES signature, SM2 signature, data-to-PDF binding, certificate chains."""
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)  # its path-building tracebacks
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    try:
        trust = TrustStore.from_pem(*(_read(path, "trust bundle") for path in trust_paths))
        result = verify_letter(_read(file, "file"), trust)
    except SigningError as exc:
        raise CliError(f"{exc.code}: {exc}") from exc
    for check in result.checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    click.echo("letter is valid" if result.ok else "letter is NOT valid")
    if not result.ok:
        sys.exit(1)


@command.command("sample")
@click.option("--out", "directory", required=True, help="Directory for letter.pdf and trust.pem.")
def sample_command(directory: str) -> None:
    """Issue a sample letter with a throwaway sandbox PKI (for trying `letter verify`)."""
    out = Path(directory)
    pki = sandbox_pki()
    letter = issue_letter(sample_letter(), pki.signer)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "letter.pdf").write_bytes(letter.pdf)
        (out / "trust.pem").write_bytes(pki.trust_pem())
    except OSError as exc:
        raise CliError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {out / 'letter.pdf'} and {out / 'trust.pem'}")
