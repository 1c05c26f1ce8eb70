from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import load_settings


def test_defaults_put_sqlite_in_the_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.data_dir == Path("var")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'var' / 'gateway.db'}"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_environment_with_prefix_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("GATEWAY_LISTEN", "0.0.0.0:9000")
    monkeypatch.setenv("GATEWAY_MAX_BODY_BYTES", "1024")
    settings = load_settings()
    assert settings.resolved_database_url == "postgresql://u@h/db"
    assert settings.port == 9000
    assert settings.max_body_bytes == 1024


@pytest.mark.parametrize("listen", ["8000", "host:", ":80", "host:99999", "host:http"])
def test_bad_listen_address_is_refused(listen: str) -> None:
    with pytest.raises(ValidationError, match="listen must be host:port"):
        load_settings(listen=listen)


def test_secret_never_shows_in_repr_or_dump(tmp_path: Path) -> None:
    settings = load_settings(token_secret="super-secret-value", data_dir=tmp_path)
    assert "super-secret-value" not in repr(settings)
    assert "super-secret-value" not in settings.model_dump_json()
    assert settings.secret_token_key() == b"super-secret-value"


def test_token_key_from_file_wins(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    settings = load_settings(token_secret="from-env", token_secret_file=key_file, data_dir=tmp_path)
    assert settings.secret_token_key() == b"from-file"


def test_generated_token_key_is_kept_private_and_stable(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    first = settings.secret_token_key()
    assert first == settings.secret_token_key()
    assert len(first) == 64
    assert (tmp_path / "secrets" / "token.key").stat().st_mode & 0o077 == 0


def test_generated_secrets_are_private_and_made_once(tmp_path: Path) -> None:
    from gateway.settings import read_or_create_secret

    calls: list[int] = []

    def make() -> bytes:
        calls.append(1)
        return b"first"

    path = tmp_path / "secrets" / "x.key"
    assert read_or_create_secret(path, make) == b"first"
    assert read_or_create_secret(path, lambda: b"second") == b"first"
    assert calls == [1]
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.key"]  # no temporary file left behind


def test_gateway_signing_key_is_generated_once(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.gateway_signing_key_pem() == settings.gateway_signing_key_pem()
    assert (tmp_path / "secrets" / "gateway.key.pem").stat().st_mode & 0o077 == 0
