"""The published test vector (docs/) stays true: openssl made it, we verify it, the doc shows it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from signing.http_signature import canonical_string, parse_authorization, sign_request, verify_request
from signing.sm2 import Sm2PrivateKey, Sm2PublicKey
from signing.sm3 import sm3_hex

DOCS = Path(__file__).resolve().parents[2] / "docs"
VECTOR = json.loads((DOCS / "signing-test-vector.json").read_text(encoding="utf-8"))


def test_string_to_sign_is_rebuilt_exactly() -> None:
    body = VECTOR["body"].encode()
    assert sm3_hex(body) == VECTOR["body_sm3_hex"]
    rebuilt = canonical_string(
        VECTOR["method"], VECTOR["path_and_query"], VECTOR["timestamp"], VECTOR["nonce"], body
    )
    assert rebuilt == VECTOR["string_to_sign"].encode()


def test_published_signature_verifies() -> None:
    params = parse_authorization(VECTOR["authorization"])
    public = Sm2PublicKey.from_pem(VECTOR["public_key_pem"])
    assert Sm2PrivateKey.from_pem(VECTOR["private_key_pem"]).public_key() == public
    assert verify_request(public, params, VECTOR["method"], VECTOR["path_and_query"], VECTOR["body"].encode())
    assert not verify_request(public, params, VECTOR["method"], VECTOR["path_and_query"], b"{}")


def test_our_signature_of_the_vector_verifies_in_openssl(tmp_path: Path) -> None:
    key = Sm2PrivateKey.from_pem(VECTOR["private_key_pem"])
    header = sign_request(
        key,
        VECTOR["key_id"],
        VECTOR["method"],
        VECTOR["path_and_query"],
        VECTOR["body"].encode(),
        timestamp=VECTOR["timestamp"],
        nonce=VECTOR["nonce"],
    )
    (tmp_path / "sig.der").write_bytes(parse_authorization(header).signature)
    (tmp_path / "string.txt").write_text(VECTOR["string_to_sign"], encoding="utf-8")
    (tmp_path / "pub.pem").write_text(VECTOR["public_key_pem"], encoding="utf-8")
    result = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sm3",
            "-verify",
            str(tmp_path / "pub.pem"),
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            str(tmp_path / "sig.der"),
            str(tmp_path / "string.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Verified OK" in result.stdout


def test_the_doc_shows_the_vector() -> None:
    doc = (DOCS / "partner-signing.md").read_text(encoding="utf-8")
    assert VECTOR["authorization"] in doc
    assert VECTOR["string_to_sign"] in doc
    assert VECTOR["public_key_pem"].strip() in doc
