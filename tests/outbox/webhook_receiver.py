"""A webhook receiver run as a real process on 127.0.0.1 for the outbox tests.

    python webhook_receiver.py --port P --log FILE --public-key GATEWAY.pem [--fail-first N]
                               [--slow-first N --slow-seconds S]

Every POST is checked (the gateway's SM2 signature over POST, the path and query, timestamp, nonce and
the body's SM3; `Gw-Event-Id` equal to the body's id) and appended to FILE as one JSON line:
``{"event_id", "status", "signature_ok", "seq"}``. The first N requests (counted across the process's
life) are answered 500; the first N of `--slow-first` wait S seconds before answering 200.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from signing.http_signature import verify_response
from signing.sm2 import Sm2PublicKey


class State:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.key = Sm2PublicKey.from_pem(Path(args.public_key).read_bytes())
        self.lock = threading.Lock()
        self.seq = 0

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    def record(self, entry: dict[str, object]) -> None:
        with self.lock, Path(self.args.log).open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")


def handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seq = state.next_seq()
            headers = dict(self.headers.items())
            signature_ok = verify_response(state.key, headers, "POST", self.path, body)
            try:
                body_id = json.loads(body)["id"]
            except (ValueError, KeyError, TypeError):
                body_id = None
            event_id = self.headers.get("Gw-Event-Id")
            if seq <= state.args.fail_first:
                status = 500
            else:
                status = 200 if signature_ok and body_id == event_id else 400
            slow = state.args.fail_first < seq <= state.args.fail_first + state.args.slow_first
            # Recorded on arrival: a slow answer is processed here even though the sender gives up.
            state.record({"event_id": event_id, "status": status, "signature_ok": signature_ok,
                          "seq": seq, "slow": slow})  # fmt: skip
            if slow:
                time.sleep(state.args.slow_seconds)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            except OSError:  # the gateway gave up waiting (read timeout) and closed
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--public-key", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--slow-first", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=0.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(State(args)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
