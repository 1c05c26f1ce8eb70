"""SM3, HMAC-SM3 and SM4-GCM with the standard test vectors."""

from __future__ import annotations

import subprocess

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from signing import sm4
from signing.errors import DecryptionFailedError
from signing.sm3 import hmac_sm3, hmac_sm3_verify, sm3, sm3_hex


def test_sm3_abc_vector() -> None:  # GB/T 32905 Annex A.1
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_512_bit_vector() -> None:  # GB/T 32905 Annex A.2
    expected = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    assert sm3(b"abcd" * 16).hex() == expected


def test_hmac_sm3_matches_openssl() -> None:
    out = subprocess.run(
        ["openssl", "dgst", "-sm3", "-hmac", "gateway-key", "-r"],
        input=b"callback body", check=True, capture_output=True,
    ).stdout.split()[0].decode()  # fmt: skip
    assert hmac_sm3(b"gateway-key", b"callback body").hex() == out
    assert hmac_sm3_verify(b"gateway-key", b"callback body", bytes.fromhex(out))
    assert not hmac_sm3_verify(b"gateway-key", b"callback body!", bytes.fromhex(out))


def test_sm4_block_example() -> None:  # GB/T 32907 Annex A example 1
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - the standard's single-block example
    assert (encryptor.update(key) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_rfc8998_vector() -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    expected = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )
    assert sm4.encrypt_with_nonce(key, nonce, plaintext, aad) == expected
    assert sm4.open_sealed(key, nonce + expected, aad) == plaintext


def test_seal_open_round_trip_and_fresh_nonce() -> None:
    key = sm4.generate_key()
    first = sm4.seal(key, "身份证号 110101199001011234".encode(), b"GB2026-0001/id_no")
    second = sm4.seal(key, "身份证号 110101199001011234".encode(), b"GB2026-0001/id_no")
    assert first != second
    assert sm4.open_sealed(key, first, b"GB2026-0001/id_no").decode().startswith("身份证号")


@pytest.mark.parametrize("change", ["key", "aad", "body", "tag", "nonce", "short"])
def test_any_change_fails_authentication(change: str) -> None:
    key = sm4.generate_key()
    sealed = bytearray(sm4.seal(key, b"secret field", b"ctx"))
    aad = b"ctx"
    if change == "key":
        key = sm4.generate_key()
    elif change == "aad":
        aad = b"other"
    elif change == "body":
        sealed[13] ^= 1
    elif change == "tag":
        sealed[-1] ^= 1
    elif change == "nonce":
        sealed[0] ^= 1
    else:
        sealed = sealed[:20]
    with pytest.raises(DecryptionFailedError):
        sm4.open_sealed(key, bytes(sealed), aad)
