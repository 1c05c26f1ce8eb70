"""`gateway sm2 keygen|sign|verify`, against the openssl 3 CLI in both directions."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli.sm2 import command

DISTID = "distid:1234567812345678"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(args[1:]))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    code, out, _ = _run("sm2", "keygen", "--out", str(tmp_path / "inst"))
    assert code == 0, out
    return tmp_path / "inst"


def test_keygen_writes_pem_pair_that_openssl_reads(keys: Path) -> None:
    assert oct(Path(f"{keys}.key.pem").stat().st_mode & 0o777) == "0o600"
    subprocess.run(["openssl", "pkey", "-in", f"{keys}.key.pem", "-check", "-noout"], check=True)
    out = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", f"{keys}.pub.pem", "-text", "-noout"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "ASN1 OID: SM2" in out


def test_keygen_refuses_to_overwrite(keys: Path) -> None:
    code, _, err = _run("sm2", "keygen", "--out", str(keys))
    assert code == 2
    assert err.count("\n") == 1


def test_sign_then_verify_and_tamper(keys: Path, tmp_path: Path) -> None:
    message = tmp_path / "msg.txt"
    message.write_text("保函 GB2026-0001 金额 100000000 分")
    code, out, _ = _run("sm2", "sign", "--key", f"{keys}.key.pem", str(message))
    assert code == 0
    signature = out.strip()
    assert _run("sm2", "verify", "--pub", f"{keys}.pub.pem", "--sig", signature, str(message))[0] == 0
    message.write_text("保函 GB2026-0001 金额 100000001 分")
    assert _run("sm2", "verify", "--pub", f"{keys}.pub.pem", "--sig", signature, str(message))[0] == 1


def test_raw_format_round_trip(keys: Path, tmp_path: Path) -> None:
    message = tmp_path / "m"
    message.write_bytes(b"bank")
    code, out, _ = _run("sm2", "sign", "--format", "raw", "--key", f"{keys}.key.pem", str(message))
    assert code == 0
    assert len(base64.b64decode(out)) == 64
    args = ("--format", "raw", "--pub", f"{keys}.pub.pem", "--sig", out.strip(), str(message))
    assert _run("sm2", "verify", *args)[0] == 0


def test_openssl_verifies_what_cli_signs(keys: Path, tmp_path: Path) -> None:
    message = tmp_path / "msg"
    message.write_bytes(b"partner message")
    code, out, _ = _run("sm2", "sign", "--key", f"{keys}.key.pem", str(message))
    assert code == 0
    (tmp_path / "sig").write_bytes(base64.b64decode(out))
    subprocess.run(
        ["openssl", "dgst", "-sm3", "-verify", f"{keys}.pub.pem", "-sigopt", DISTID,
         "-signature", str(tmp_path / "sig"), str(message)],
        check=True, capture_output=True,
    )  # fmt: skip


def test_cli_verifies_what_openssl_signs(tmp_path: Path) -> None:
    key, pub, message, sig = (tmp_path / n for n in ("k.pem", "p.pem", "msg", "sig"))
    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(key)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True)
    message.write_bytes(b"callback")
    subprocess.run(
        ["openssl", "dgst", "-sm3", "-sign", str(key), "-sigopt", DISTID, "-out", str(sig), str(message)],
        check=True,
    )
    b64 = base64.b64encode(sig.read_bytes()).decode()
    assert _run("sm2", "verify", "--pub", str(pub), "--sig", b64, str(message))[0] == 0
    # and the key openssl generated signs through the CLI too
    assert _run("sm2", "sign", "--key", str(key), str(message))[0] == 0


@pytest.mark.parametrize(
    ("pub_text", "sig", "expected_code"),
    [
        ("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n", "MEUCIQ==", "malformed_pem"),
        (None, "%%%not-base64", "bad_base64"),
        (None, "MEUCIQ==", "malformed_signature"),
    ],
    ids=["malformed-pem", "bad-base64", "truncated-der"],
)
def test_bad_input_is_one_line_and_exit_2(
    keys: Path, tmp_path: Path, pub_text: str | None, sig: str, expected_code: str
) -> None:
    pub = Path(f"{keys}.pub.pem")
    if pub_text is not None:
        pub = tmp_path / "bad.pem"
        pub.write_text(pub_text)
    message = tmp_path / "m"
    message.write_bytes(b"x")
    code, _, err = _run("sm2", "verify", "--pub", str(pub), "--sig", sig, str(message))
    assert code == 2
    assert err.count("\n") == 1
    assert expected_code in err


def test_wrong_curve_key_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "p256.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(key)], check=True)  # fmt: skip
    (tmp_path / "m").write_bytes(b"x")
    code, _, err = _run("sm2", "sign", "--key", str(key), str(tmp_path / "m"))
    assert code == 2
    assert "wrong_curve" in err


def test_missing_file_is_exit_2(keys: Path, tmp_path: Path) -> None:
    code, _, err = _run("sm2", "sign", "--key", f"{keys}.key.pem", str(tmp_path / "nope"))
    assert code == 2
    assert err.startswith("error: cannot read file")
