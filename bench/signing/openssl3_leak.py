"""Leak check for the OpenSSL 3 (ctypes) SM2 backend: N operations, RSS sampled every tenth.

Mix: sign and verify with cached keys, every 10th operation on a fresh key (so cache entries are
evicted and their EVP_PKEYs freed), malformed signatures and off-curve points (failure paths).

Run: .venv/bin/python -m bench.signing.openssl3_leak [--operations 100000]
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

if __package__ in (None, ""):  # allow `python bench/signing/openssl3_leak.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from signing.backends import OpenSsl3Backend


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--operations", type=int, default=100_000)
    args = parser.parse_args()
    total: int = args.operations

    backend = OpenSsl3Backend()
    keys = [backend.generate() for _ in range(8)]
    points = [backend.public_point(d) for d in keys]
    message = b"leak check " * 10
    signatures = [backend.sign(d, message) for d in keys]
    samples: list[tuple[int, int]] = []
    for index in range(total):
        slot = index % len(keys)
        kind = index % 10
        if kind == 0:  # fresh key: builds and later evicts an EVP_PKEY in both caches
            d = backend.generate()
            point = backend.public_point(d)
            assert backend.verify(point, message, backend.sign(d, message))
        elif kind < 5:
            backend.sign(keys[slot], message)
        elif kind < 8:
            assert backend.verify(points[slot], message, signatures[slot])
        elif kind == 8:
            assert not backend.verify(points[slot], message, signatures[slot][:-1] + b"\x00")
        else:
            assert not backend.verify((points[slot][0], points[slot][1] ^ 1), message, signatures[slot])
        if index % (total // 10) == 0 or index == total - 1:
            gc.collect()
            samples.append((index + 1, rss_kib()))
            print(f"{index + 1:>8} ops  RSS {samples[-1][1]:>7} KiB", flush=True)
    first_after_warmup = samples[1][1]
    print(f"RSS growth after the first tenth: {samples[-1][1] - first_after_warmup} KiB over {total} ops")


if __name__ == "__main__":
    main()
