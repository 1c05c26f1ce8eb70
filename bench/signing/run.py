"""Signing benchmark: SM2 sign/verify per second for each production backend (tongsuo, openssl3)
next to `openssl speed sm2` (same run), SM3 MB/s, letters rendered+signed per second on one core
(wall clock, and per CPU-second of this process, which is what "per core" means when other processes
share the machine).

`openssl speed` divides by the CPU *user* time of its process, not wall-clock time (`-elapsed`
switches to wall clock). So SM2 is reported both ways: per wall-clock second, and per user-CPU-second
of this process — the latter is the like-for-like ratio on a machine other processes share.

Run: .venv/bin/python -m bench.signing.run [--seconds 3]
Targets: SM2 >= 0.9 x openssl's rate; >= 20 letters/s/core.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # allow `python bench/signing/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from signing.backends import OpenSsl3Backend, Sm2Backend, TongsuoBackend
from signing.letter import issue_letter
from signing.letter.sandbox import sample_letter, sandbox_pki
from signing.sm2 import Sm2PrivateKey, verify
from signing.sm3 import sm3


def rate(operation: Callable[[], object], seconds: float) -> float:
    operation()  # warm caches
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            operation()
        count += 20
    return count / (time.perf_counter() - start)


def rates(operation: Callable[[], object], seconds: float) -> tuple[float, float]:
    """(per wall-clock second, per CPU-second of this process): one single-threaded loop."""
    operation()  # warm caches
    count, start, cpu_start = 0, time.perf_counter(), time.process_time()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            operation()
        count += 20
    return count / (time.perf_counter() - start), count / (time.process_time() - cpu_start)


def user_rates(operation: Callable[[], object], seconds: float) -> tuple[float, float]:
    """(per wall-clock second, per user-CPU-second of this process), as `openssl speed` divides."""
    operation()  # warm caches
    count, start, user_start = 0, time.perf_counter(), os.times().user
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            operation()
        count += 20
    return count / (time.perf_counter() - start), count / (os.times().user - user_start)


def openssl_speed_sm2(seconds: int) -> tuple[float, float]:
    """(sign/s, verify/s) parsed from `openssl speed -seconds N sm2` (one process, one core)."""
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "sm2"], check=True, capture_output=True, text=True
    ).stdout
    match = re.search(r"^\s*256 bits SM2 \(CurveSM2\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out, re.MULTILINE)
    if match is None:
        raise SystemExit(f"could not parse openssl speed output:\n{out}")
    return float(match.group(1)), float(match.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    seconds = args.seconds

    message = (
        b"POST\n/partner/v1/applications/123/issuance\n1767225600\nnonce0123456789ab\n" + b"0" * 64 + b"\n"
    )
    backends: list[Sm2Backend] = [TongsuoBackend(), OpenSsl3Backend()]
    sm2_rows: list[tuple[str, str, float, float]] = []
    for backend in backends:
        key = Sm2PrivateKey.generate(backend)
        public = key.public_key()
        signature = key.sign(message, backend)
        sign_wall, sign_cpu = user_rates(functools.partial(key.sign, message, backend), seconds)
        verify_wall, verify_cpu = user_rates(
            functools.partial(verify, public, message, signature, backend), seconds
        )
        sm2_rows += [
            ("sign", backend.name, sign_wall, sign_cpu),
            ("verify", backend.name, verify_wall, verify_cpu),
        ]
    openssl_sign, openssl_verify = openssl_speed_sm2(seconds)

    block = b"\xa5" * (1024 * 1024)
    sm3_rate = rate(lambda: sm3(block), seconds)

    pki = sandbox_pki()
    data = sample_letter()
    letter_rate, letter_cpu_rate = rates(lambda: issue_letter(data, pki.signer), seconds)

    print(
        f"openssl speed sm2: sign {openssl_sign:.0f} /s, verify {openssl_verify:.0f} /s (per user-CPU-second)"
    )
    for operation, name, wall, cpu in sorted(sm2_rows, key=lambda row: row[0] != "sign"):
        reference = openssl_sign if operation == "sign" else openssl_verify
        print(
            f"SM2 {operation:<6} {name:<9} {wall:7.0f} /s  ratio {wall / reference:.2f}   "
            f"{cpu:7.0f} /user-CPU-s  ratio {cpu / reference:.2f}"
        )
    print(f"SM3           {sm3_rate:9.0f} MB/s (1 MiB blocks)")
    print(f"letters       {letter_rate:9.1f} /s   (render + SM2 + embed + PAdES, one thread, wall clock)")
    print(f"letters       {letter_cpu_rate:9.1f} /CPU-s (same loop per CPU-second; target 20 per core)")


if __name__ == "__main__":
    main()
