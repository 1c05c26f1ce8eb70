"""`gateway sm2 ...` (owned by the Signing work): SM2 keys and signatures that interoperate with
`openssl` 3 (`-sigopt distid:1234567812345678`).

Exit codes: 0 success / valid signature, 1 invalid signature, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from gateway.cli.common import CliError
from signing.errors import SigningError
from signing.sm2 import (
    Sm2PrivateKey,
    Sm2PublicKey,
    b64decode_strict,
    b64encode,
    der_to_raw,
    raw_to_der,
    verify,
)

_FORMATS = click.Choice(["der", "raw"])


def _read(path: str, what: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


@click.group(name="sm2")
def command() -> None:
    """SM2 keys and signatures (see signing/)."""


@command.command("keygen")
@click.option("--out", "prefix", required=True, help="Writes PREFIX.key.pem (PKCS#8) and PREFIX.pub.pem.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def keygen(prefix: str, force: bool) -> None:
    """Generate an SM2 key pair as PEM files that openssl reads."""
    key_path, pub_path = Path(f"{prefix}.key.pem"), Path(f"{prefix}.pub.pem")
    if not force and (key_path.exists() or pub_path.exists()):
        raise CliError(f"{key_path} or {pub_path} already exists (use --force to overwrite)")
    key = Sm2PrivateKey.generate()
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.to_pem())
        pub_path.write_bytes(key.public_key().to_pem())
    except OSError as exc:
        raise CliError(f"cannot write key files: {exc.strerror or exc}") from exc
    click.echo(f"wrote {key_path} and {pub_path}")


@command.command("sign")
@click.option("--key", "key_path", required=True, help="PKCS#8 or SEC1 SM2 private key PEM.")
@click.option("--format", "sig_format", type=_FORMATS, default="der", show_default=True,
              help="der: base64 of DER; raw: base64 of r||s (64 bytes).")  # fmt: skip
@click.argument("file")
def sign(key_path: str, sig_format: str, file: str) -> None:
    """Sign FILE (- for stdin); prints the base64 signature."""
    try:
        key = Sm2PrivateKey.from_pem(_read(key_path, "key"))
        signature = key.sign(_read(file, "file"))
    except SigningError as exc:
        raise CliError(f"{exc.code}: {exc}") from exc
    click.echo(b64encode(der_to_raw(signature) if sig_format == "raw" else signature))


@command.command("verify")
@click.option("--pub", "pub_path", required=True, help="SM2 public key PEM (SubjectPublicKeyInfo).")
@click.option("--sig", "signature_b64", required=True, help="The base64 signature.")
@click.option("--format", "sig_format", type=_FORMATS, default="der", show_default=True)
@click.argument("file")
def verify_command(pub_path: str, signature_b64: str, sig_format: str, file: str) -> None:
    """Verify a signature over FILE: exit 0 valid, 1 invalid, 2 bad input."""
    try:
        public = Sm2PublicKey.from_pem(_read(pub_path, "public key"))
        signature = b64decode_strict(signature_b64)
        if sig_format == "raw":
            signature = raw_to_der(signature)
        valid = verify(public, _read(file, "file"), signature)
    except SigningError as exc:
        raise CliError(f"{exc.code}: {exc}") from exc
    if not valid:
        click.echo("invalid signature", err=True)
        sys.exit(1)
    click.echo("valid signature")
