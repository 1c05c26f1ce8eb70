"""Partner API benchmark: signed requests per second through uvicorn with 2 workers, next to the same
endpoint unsigned, in the same run.

The server is `gateway.app` under uvicorn (2 worker processes) with a pull institution registered;
`bench.partner.server` also exposes the same routes at /unsigned/... with the caller set as a verified
signature would set it. Requests: `GET /partner/v1/applications?status=quote_requested` (an
authorized read with a database query). Signed requests are signed before the clock starts (each has
its own nonce) so the load generator's SM2 cost does not count against the server; the server does
everything a real signed request costs: key lookup, SM2 verify, nonce insert, SM2-signed response.
Phases alternate unsigned/signed (--rounds pairs, so load from
other processes falls on both alike); the ratio is signed/unsigned over all phases.

Run: .venv/bin/python -m bench.partner.run [--seconds 4] [--concurrency 16] [--rounds 3] [--postgres URL]
(default SQLite in a temporary directory; PostgreSQL: a scratch database is created and dropped).
Also reported per CPU-second of the server processes (steadier when other processes share the machine).
Target: signed >= 0.7 of unsigned.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from bench.common import cpu_seconds, scratch_postgres
from contracts.enums import DecisionMode, InstitutionKind, IntegrationMode, Product
from gateway.broker.pricing import FlatRate
from gateway.composition import build_container
from gateway.institutions import repository as institutions
from gateway.institutions.repository import InstitutionRecord
from gateway.migrate import upgrade
from gateway.settings import load_settings
from gateway.system_auth.service import register_key
from signing.certificates import create_root_ca, issue_certificate
from signing.http_signature import sign_request, verify_response
from signing.sm2 import Sm2PrivateKey

ROOT = Path(__file__).resolve().parents[2]
CODE = "BENCH-PULL"
KEY_ID = "bench-pull-1"
TARGET = "/partner/v1/applications?status=quote_requested"
TOKEN_SECRET = "bench-only"  # noqa: S105 - a throwaway database in a temporary directory


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _seed(database_url: str, data_dir: Path, key: Sm2PrivateKey) -> None:
    upgrade(database_url)
    container = build_container(
        load_settings(database_url=database_url, data_dir=data_dir, token_secret=TOKEN_SECRET)
    )
    root_key = Sm2PrivateKey.generate()
    root = create_root_ca(root_key, "bench root")
    certificate = issue_certificate(root_key, root, key.public_key(), "bench pull institution")
    now = datetime.now(UTC)
    record = InstitutionRecord(
        code=CODE, name="bench", kind=InstitutionKind.BANK, products=(Product.BID,),
        fee_schedule=FlatRate(rate_ppm=1_000, minimum_fen=100), min_amount_fen=1, max_amount_fen=10**12,
        centers=(), decision=DecisionMode.INSTANT, mode=IntegrationMode.PULL, key_id=KEY_ID,
        certificate_pem=certificate.to_pem().decode(),
    )  # fmt: skip
    with container.sessions() as session, session.begin():
        institutions.upsert(session, record, now=now)
        register_key(session, party_kind="institution", party_code=CODE, key_id=KEY_ID,
                     public_key_pem=key.public_key().to_pem().decode(), now=now, actor="bench")  # fmt: skip
    container.close()


def _serve(database_url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_DATA_DIR": str(data_dir),
           "GATEWAY_TOKEN_SECRET": TOKEN_SECRET, "GATEWAY_LOG_LEVEL": "WARNING",
           "BENCH_PARTNER_CODE": CODE}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.partner.server:app", "--factory", "--workers", "2",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "uvicorn exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("uvicorn did not start")


async def _phase(
    base: str, requests: list[tuple[str, dict[str, str]]], seconds: float, concurrency: int
) -> tuple[int, int, float]:
    """Send the given (path, headers) until they run out or time is up; returns (ok, failed, elapsed)."""
    queue = iter(requests)
    ok = failed = 0
    stop = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal ok, failed
        for path, headers in queue:
            if time.perf_counter() >= stop:
                return
            response = await client.get(path, headers=headers)
            if response.status_code == 200:
                ok += 1
            else:
                failed += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return ok, failed, time.perf_counter() - started


def _server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of uvicorn and its worker processes so far (Linux /proc): requests per
    server CPU-second hold still when other processes load the machine, requests per second do not."""
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return sum(cpu_seconds(each) for each in pids)


def _presign(key: Sm2PrivateKey, n: int) -> list[tuple[str, dict[str, str]]]:
    now = int(time.time())
    return [
        (TARGET, {"Authorization": sign_request(key, KEY_ID, "GET", TARGET, b"", timestamp=now)})
        for _ in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="unsigned/signed phase pairs, interleaved")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (a scratch database is made)")
    args = parser.parse_args()
    key = Sm2PrivateKey.generate()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        data_dir = Path(tmp) / "var"
        if args.postgres:  # dropped when the block ends, after the server has stopped
            database_url = stack.enter_context(scratch_postgres(args.postgres, "bench_partner"))
        else:
            database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        _seed(database_url, data_dir, key)
        port = _free_port()
        server = _serve(database_url, data_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            # Warm both workers' caches (key, certificate parsing, connection pools).
            asyncio.run(_phase(base, _presign(key, 200) + [("/unsigned" + TARGET, {})] * 200, 30, 8))
            sample = httpx.get(base + TARGET, headers=_presign(key, 1)[0][1])
            public = Sm2PrivateKey.from_pem(
                (data_dir / "secrets" / "gateway.key.pem").read_bytes()
            ).public_key()
            assert sample.status_code == 200, sample.text
            assert verify_response(public, dict(sample.headers), "200", TARGET, sample.content), (
                "unsigned answer"
            )
            budget = int(args.seconds * 3000)
            totals = {"unsigned": [0, 0, 0.0], "signed": [0, 0, 0.0]}
            cpu = {"unsigned": 0.0, "signed": 0.0}
            for round_no in range(1, args.rounds + 1):
                for kind in ("unsigned", "signed"):
                    requests = (
                        [("/unsigned" + TARGET, {})] * budget if kind == "unsigned" else _presign(key, budget)
                    )
                    cpu_before = _server_cpu_s(server.pid)
                    ok, failed, elapsed = asyncio.run(_phase(base, requests, args.seconds, args.concurrency))
                    used = _server_cpu_s(server.pid) - cpu_before
                    cpu[kind] += used
                    totals[kind][0] += ok
                    totals[kind][1] += failed
                    totals[kind][2] += elapsed
                    print(
                        f"round {round_no} {kind:8s}: {ok / elapsed:8.1f} req/s "
                        f"({ok} ok, {failed} failed, {elapsed:.2f} s), {ok / used:8.1f} per server CPU-s"
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
    rates = {kind: ok / elapsed for kind, (ok, _failed, elapsed) in totals.items()}
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}, uvicorn 2 workers, concurrency {args.concurrency}:")
    print(f"  unsigned {rates['unsigned']:.1f} req/s, signed {rates['signed']:.1f} req/s, "
          f"ratio {rates['signed'] / rates['unsigned']:.2f} (target >= 0.7)")  # fmt: skip
    per_cpu = {kind: totals[kind][0] / cpu[kind] for kind in cpu}
    print(f"  per server CPU-second: unsigned {per_cpu['unsigned']:.1f}, signed {per_cpu['signed']:.1f}, "
          f"ratio {per_cpu['signed'] / per_cpu['unsigned']:.2f}")  # fmt: skip
    if totals["signed"][1] or totals["unsigned"][1]:
        print(f"  failures: signed {totals['signed'][1]}, unsigned {totals['unsigned'][1]}")


if __name__ == "__main__":
    main()
