"""The CLI as an operator uses it: one-line errors with exit code 2, checks that exit 1 on a problem."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from gateway.db import make_engine

REPO = Path(__file__).resolve().parents[2]


def gateway(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd or REPO,
        check=False,
    )


def test_openapi_check_passes_on_the_committed_spec() -> None:
    result = gateway("openapi", "--check")
    assert result.returncode == 0, result.stderr
    spec = json.loads((REPO / "openapi" / "openapi.json").read_text())
    operation_ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert "health_healthz" in operation_ids


def test_openapi_check_fails_on_a_stale_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import gateway.cli.openapi as openapi_cli

    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(openapi_cli, "SPEC_PATH", stale)
    result = CliRunner().invoke(openapi_cli.command, ["--check"])
    assert result.exit_code == 1
    assert "stale" in result.output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "GATEWAY_DATABASE_URL: not a database URL"),
        ("mysql://root@127.0.0.1/test", "unsupported database 'mysql'"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot use the database"),
    ],
)
def test_serve_with_a_bad_database_url_exits_2_with_one_line(tmp_path: Path, url: str, message: str) -> None:
    result = gateway("serve", env={"GATEWAY_DATABASE_URL": url, "GATEWAY_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_exits_2(tmp_path: Path) -> None:
    result = gateway("db", "upgrade", env={"GATEWAY_LISTEN": "nonsense", "GATEWAY_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid settings")


def test_db_upgrade_then_audit_verify_ok_then_broken(tmp_path: Path) -> None:
    env = {"GATEWAY_DATA_DIR": str(tmp_path)}
    assert gateway("db", "upgrade", env=env).returncode == 0
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    engine = make_engine(url)
    from gateway.audit import service as audit
    from gateway.db import make_sessionmaker

    with make_sessionmaker(engine)() as session, session.begin():
        for n in range(3):
            audit.append(session, actor="operator:a", action="x", object_type="t", object_id=str(n))
    ok = gateway("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "audit chain ok: 3 records" in ok.stdout
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(text("UPDATE audit_log SET object_id = '9' WHERE seq = 2"))
    engine.dispose()
    broken = gateway("audit", "verify", env=env)
    assert broken.returncode == 1
    assert "BREAK at seq 2" in broken.stdout


def test_users_token_for_a_bidder_checks_the_uscc(tmp_path: Path) -> None:
    env = {"GATEWAY_DATA_DIR": str(tmp_path)}
    bad = gateway("users", "token", "--role", "bidder", "--subject", "91440300MA5DEMO01X", env=env)
    assert bad.returncode == 2
    assert bad.stderr == "error: --subject: character 'O' at position 15 is not in the USCC alphabet\n"
    from contracts.uscc import make_uscc

    uscc = str(make_uscc("91440300MA5DEMX01"))
    nameless = gateway("users", "token", "--role", "bidder", "--subject", uscc, env=env)
    assert nameless.returncode == 2
    assert "registered name" in nameless.stderr
    good = gateway(
        "users", "token", "--role", "bidder", "--subject", uscc, "--name", "示范建设有限公司", env=env
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("gw1.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_demo_answers_healthz_within_60_seconds(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_LISTEN": f"127.0.0.1:{port}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--demo"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "no answer within 60 s"
                time.sleep(0.3)
        assert response.status_code == 200
        assert response.headers["request-id"]
        credentials = json.loads((tmp_path / "credentials.json").read_text())
        assert credentials["base_url"] == f"http://127.0.0.1:{port}"
        assert len(credentials["bidders"]) == 3
        probe = httpx.get(
            f"http://127.0.0.1:{port}/healthz",
            headers={"Authorization": f"Bearer {credentials['finance']['token']}"},
        )
        assert probe.status_code == 200
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert "/healthz" in out
    log_lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests = [line for line in log_lines if line.get("message") == "request"]
    assert requests
    assert all(line["request_id"] for line in requests)
