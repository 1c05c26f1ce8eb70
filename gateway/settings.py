"""The gateway's settings: one object, built once in `load_settings()` and passed down.

Everything comes from the environment with the prefix ``GATEWAY_`` (or a ``.env`` file). Secrets
(keys, token secrets) are named here by file path or environment variable and held as ``SecretStr``
so that they never show up in a repr, a log line or an API response.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("var"), description="Where the SQLite file, letters and demo files live"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to a SQLite file in data_dir"
    )
    listen: str = Field(default="127.0.0.1:8000", description="host:port for `gateway serve`")
    public_base_url: str | None = Field(
        default=None, description="Base URL printed on letters and in QR codes; defaults to http://listen"
    )
    max_body_bytes: Annotated[int, Field(gt=0)] = 10 * MIB
    log_level: str = "INFO"
    idempotency_ttl_s: Annotated[int, Field(gt=0)] = 24 * 3600
    # Secrets: read from a file (preferred) or the environment; never logged or returned.
    token_secret_file: Path | None = None
    token_secret: SecretStr | None = None
    gateway_key_file: Path | None = Field(
        default=None,
        description="The gateway's SM2 private key (PKCS#8 PEM); generated into data_dir if unset",
    )
    gateway_key_id: str = Field(default="gateway-1", pattern=r"^[A-Za-z0-9._:-]{1,100}$")
    claim_decision_business_days: Annotated[int, Field(ge=1, le=60)] = Field(
        default=5, description="Business days an institution has to pay or refuse a claim"
    )
    # Public verification (GET /v1/verify, /verify): a token bucket per client address, per process.
    verify_rate_per_minute: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Sustained verification requests per minute per client address"
    )
    verify_rate_burst: Annotated[int, Field(ge=1)] = Field(
        default=10, description="Verification requests a client address may make at once"
    )
    # Interest on refunded cash deposits (gateway.finance.interest): the escrow bank's dated
    # demand-deposit rates in ppm a year (JSON in the environment: {"2012-07-06": 3500}) and the
    # day-count basis (actual/360 by default, as Chinese banks count deposit interest).
    deposit_rates_ppm: dict[date, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=lambda: {date(2012, 7, 6): 3500},
        min_length=1,
        description="Dated annual demand-deposit rates in ppm (3500 = 0.35%) for deposit refunds",
    )
    deposit_interest_basis: Literal[360, 365] = 360

    @field_validator("listen")
    @classmethod
    def _listen_is_host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("listen must be host:port, e.g. 127.0.0.1:8000")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gateway.db').resolve()}"

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.listen}"

    def secret_token_key(self) -> bytes:
        """The bearer-token key: from the file, else the environment, else one generated into data_dir."""
        if self.token_secret_file is not None:
            return self.token_secret_file.read_bytes().strip()
        if self.token_secret is not None:
            return self.token_secret.get_secret_value().encode()
        import secrets

        path = self.data_dir / "secrets" / "token.key"
        return read_or_create_secret(path, lambda: secrets.token_hex(32).encode()).strip()

    def gateway_signing_key_pem(self) -> bytes:
        """The gateway's SM2 key: from the named file, else one generated once into data_dir (mode 0600)."""
        if self.gateway_key_file is not None:
            return self.gateway_key_file.read_bytes()
        from signing.sm2 import Sm2PrivateKey

        path = self.data_dir / "secrets" / "gateway.key.pem"
        return read_or_create_secret(path, lambda: Sm2PrivateKey.generate().to_pem())


def read_or_create_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """A secret kept in a file under data_dir: made once, private from its first byte (mode 0600), and
    published atomically (link of a complete temporary file), so two processes starting together end
    up with the same value and nobody ever reads a half-written one."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(make())
        with contextlib.suppress(FileExistsError):  # another process was first: keep its secret
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def load_settings(**overrides: object) -> Settings:
    """The one place settings are built (the CLI and tests call this, everything else receives them)."""
    return Settings(**overrides)  # type: ignore[arg-type]
