"""A pull-mode institution in its own process: it polls the gateway's partner API and quotes, approves
and issues, signing every request with its SM2 key (GW-SM2-SM3) and every guarantee with the same key
as the sandbox institutions do; it checks the gateway's signature on every answer.

    python -m adapters.partner_sandbox.pull_client --gateway-url http://127.0.0.1:8000 \\
        --code PULL-BANK --key-id pull-bank-1 --key-file key.pem --cert-file cert.pem \\
        --gateway-public-key gateway.pub.pem [--pades-key-file k.pem --pades-cert-file chain.pem]

It prints one JSON line per action. Only `signing` and `contracts` are used: this is what a bank's own
integration would look like, and it must not lean on the gateway's code.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from contracts.institutions import GuaranteeData, IssuedGuarantee, IssueRequest, QuoteRequest
from signing.certificates import Sm2Certificate
from signing.http_signature import sign_request, verify_response
from signing.letter import LetterSigner, issue_letter, letter_for
from signing.pades_certs import P256Identity
from signing.signed_data import sign_canonical
from signing.sm2 import Sm2PrivateKey, Sm2PublicKey

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUOTE_VALIDITY = timedelta(minutes=30)


class GatewayAnswerUnsigned(Exception):
    """The gateway's answer did not carry a valid signature: it is not trusted."""


@dataclass
class PullClient:
    base_url: str
    code: str
    key_id: str
    key: Sm2PrivateKey = field(repr=False)
    gateway_key: Sm2PublicKey | None
    name: str = "拉取模式示范银行"
    letter_signer: LetterSigner | None = None
    discount_fen: int = 0
    reject_usccs: frozenset[str] = frozenset()
    number_prefix: str = "PL"
    emit: Callable[[dict[str, Any]], None] = lambda _line: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    timeout_s: float = 10.0
    # What we issued per application: a retry must send exactly the same body (same Idempotency-Key).
    issued: dict[str, IssuedGuarantee] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=self.timeout_s)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ signed HTTP

    def call(
        self, method: str, target: str, body: dict[str, Any] | None = None, *, key: str | None = None
    ) -> httpx.Response:
        content = (
            b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        )
        headers = {
            "Authorization": sign_request(
                self.key, self.key_id, method, target, content, timestamp=int(self.clock().timestamp())
            )
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.http.request(method, target, content=content, headers=headers)
        if self.gateway_key is not None and not verify_response(
            self.gateway_key, dict(response.headers), str(response.status_code), target, response.content
        ):
            raise GatewayAnswerUnsigned(f"{method} {target}: the gateway's signature does not verify")
        return response

    def applications(self, status: str) -> Iterator[dict[str, Any]]:
        after = ""
        while True:
            target = f"/partner/v1/applications?status={status}&limit=100" + (
                f"&after={after}" if after else ""
            )
            response = self.call("GET", target)
            response.raise_for_status()
            page = response.json()
            yield from page["data"]
            if not page["has_more"]:
                return
            after = page["next_cursor"]

    # ------------------------------------------------------------------ the institution's work

    def poll_once(self) -> int:
        """One pass over everything waiting for us; returns how many actions were taken."""
        done = 0
        for item in self.applications("quote_requested"):
            done += self._quote(item)
        for item in self.applications("awaiting_decision"):
            done += self._decide(item)
        for item in self.applications("awaiting_issuance"):
            done += self._issue(item)
        return done

    def _post(self, action: str, application_id: str, body: dict[str, Any]) -> int:
        target = f"/partner/v1/applications/{application_id}/{action}"
        response = self.call("POST", target, body, key=f"{action}-{application_id}")
        answer = response.json() if response.content else {}
        self.emit({"action": action, "application_id": application_id, "status": response.status_code,
                   "code": answer.get("code"), "partner_status": answer.get("status")})  # fmt: skip
        return 1

    def _quote(self, item: dict[str, Any]) -> int:
        request = QuoteRequest.model_validate(item["quote_request"])
        premium = max(request.schedule_premium_fen.fen - self.discount_fen, 1)
        valid_until = (self.clock() + QUOTE_VALIDITY).isoformat()
        return self._post(
            "quote", request.application_id, {"premium_fen": premium, "valid_until": valid_until}
        )

    def _decide(self, item: dict[str, Any]) -> int:
        request = QuoteRequest.model_validate(item["quote_request"])
        if str(request.bidder_uscc) in self.reject_usccs:
            body = {"outcome": "rejected", "reason": "KYC: applicant not accepted"}
        else:
            body = {"outcome": "approved"}
        return self._post("decision", request.application_id, body)

    def _issue(self, item: dict[str, Any]) -> int:
        request = IssueRequest.model_validate(item["issue_request"])
        issued = self.issued.get(request.application_id) or self._make_guarantee(request)
        self.issued[request.application_id] = issued
        return self._post("issuance", request.application_id, issued.model_dump(mode="json"))

    def _make_guarantee(self, request: IssueRequest) -> IssuedGuarantee:
        now = self.clock()
        number = f"{self.number_prefix}{now.astimezone(SHANGHAI):%Y%m%d}-{secrets.token_hex(6).upper()}"
        data = GuaranteeData.answering(
            request, guarantee_no=number, institution_code=self.code, issued_at=now
        )
        letter_b64 = None
        if self.letter_signer is not None:
            letter = issue_letter(
                letter_for(request, data, self.name),
                self.letter_signer,
            )
            letter_b64 = base64.b64encode(letter.pdf).decode("ascii")
        return IssuedGuarantee(
            data=data,
            key_id=self.key_id,
            signature_b64=sign_canonical(self.key, data.signed_value()),
            letter_pdf_b64=letter_b64,
        )

    def acknowledge_notices(self) -> int:
        response = self.call("GET", "/partner/v1/notices?pending=true")
        response.raise_for_status()
        for notice in response.json()["data"]:
            target = f"/partner/v1/notices/{notice['id']}/acknowledge"
            self.call("POST", target, key=f"ack-{notice['id']}")
            self.emit({"action": "acknowledge", "notice": notice["id"], "kind": notice["kind"]})
        return len(response.json()["data"])


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.partner_sandbox.pull_client", description=__doc__
    )
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--code", required=True, help="institution code")
    parser.add_argument("--key-id", required=True, help="the request key's id registered at the gateway")
    parser.add_argument("--key-file", required=True, type=Path, help="SM2 private key (PEM)")
    parser.add_argument("--cert-file", required=True, type=Path, help="SM2 certificate the gateway holds")
    parser.add_argument("--gateway-public-key", type=Path, help="verify the gateway's signed answers")
    parser.add_argument("--pades-key-file", type=Path, help="P-256 key for the letter's PAdES signature")
    parser.add_argument("--pades-cert-file", type=Path, help="its certificate followed by the chain")
    parser.add_argument("--name", default="拉取模式示范银行", help="institution name printed on letters")
    parser.add_argument("--poll-interval", type=float, default=0.1)
    parser.add_argument("--max-seconds", type=float, default=0.0, help="stop after this long (0: never)")
    parser.add_argument("--discount-fen", type=int, default=0)
    parser.add_argument("--reject-uscc", action="append", default=[])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    key = Sm2PrivateKey.from_pem(args.key_file.read_bytes())
    certificate = Sm2Certificate.from_pem(args.cert_file.read_bytes())
    if certificate.sm2_public_key().to_pem() != key.public_key().to_pem():
        sys.stderr.write("--cert-file does not certify --key-file\n")
        return 2
    signer = None
    if args.pades_key_file and args.pades_cert_file:
        end, sep, chain = args.pades_cert_file.read_bytes().partition(b"-----END CERTIFICATE-----\n")
        pades = P256Identity.from_pem(args.pades_key_file.read_bytes(), end + sep, chain)
        signer = LetterSigner(key, certificate, pades)
    gateway_key = (
        Sm2PublicKey.from_pem(args.gateway_public_key.read_bytes()) if args.gateway_public_key else None
    )

    def emit(line: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    client = PullClient(
        base_url=args.gateway_url, code=args.code, key_id=args.key_id, key=key, gateway_key=gateway_key,
        name=args.name, letter_signer=signer, discount_fen=args.discount_fen,
        reject_usccs=frozenset(args.reject_uscc), emit=emit,
    )  # fmt: skip
    stop_at = time.monotonic() + args.max_seconds if args.max_seconds > 0 else None
    passes = 0
    try:
        while stop_at is None or time.monotonic() < stop_at:
            try:
                if client.poll_once() == 0:
                    client.acknowledge_notices()
                passes += 1
                if passes == 1:
                    emit({"action": "ready"})  # one full pass done: the gateway is reachable and trusted
            except (httpx.HTTPError, GatewayAnswerUnsigned) as exc:
                # The gateway being away (or an answer we cannot trust) is retried on the next pass.
                emit({"action": "error", "error": f"{type(exc).__name__}: {exc}"})
            time.sleep(args.poll_interval)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
