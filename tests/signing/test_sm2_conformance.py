"""The SM2 conformance suite every backend passes (GB/T 32918, signer ID 1234567812345678)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from gmalg import ellipticcurve as gmalg_ec
from gmalg import sm2 as gmalg_sm2
from gmalg import sm3 as gmalg_sm3

from signing.backends import Sm2Backend
from signing.sm2 import (
    DEFAULT_SIGNER_ID,
    SM2_GX,
    SM2_GY,
    SM2_N,
    Sm2PrivateKey,
    Sm2PublicKey,
    encode_der_signature,
    verify,
)

MESSAGE = b"message digest"

# GB/T 32918.5 (recommended curve), signer ID 1234567812345678, fixed k.
PART5_D = 0x3945208F_7B2144B1_3F36E38A_C6D39F95_88939369_2860B51A_42FB81EF_4DF7C5B8
PART5_X = 0x09F9DF31_1E5421A1_50DD7D16_1E4BC5C6_72179FAD_1833FC07_6BB08FF3_56F35020
PART5_Y = 0xCCEA490C_E26775A5_2DC6EA71_8CC1AA60_0AED05FB_F35E084A_6632F607_2DA9AD13
PART5_K = 0x59276E27_D506861A_16680F3A_D9C02DCC_EF3CC1FA_3CDBE4CE_6D54B80D_EAC1BC21
PART5_R = 0xF5A03B06_48D2C463_0EEAC513_E1BB81A1_5944DA38_27D5B741_43AC7EAC_EEE720B3
PART5_S = 0xB1B6AA29_DF212FD8_763182BC_0D421CA1_BB9038FD_1F7F42D4_840B69C4_85BBC1AA

# GB/T 32918.2 Annex A: the 256-bit test curve over Fp, signer ID ALICE123@YAHOO.COM.
PART2_P = 0x8542D69E_4C044F18_E8B92435_BF6FF7DE_45728391_5C45517D_722EDB8B_08F1DFC3
PART2_A = 0x787968B4_FA32C3FD_2417842E_73BBFEFF_2F3C848B_6831D7E0_EC65228B_3937E498
PART2_B = 0x63E4C6D3_B23B0C84_9CF84241_484BFE48_F61D59A5_B16BA06E_6E12D1DA_27C5249A
PART2_GX = 0x421DEBD6_1B62EAB6_746434EB_C3CC315E_32220B3B_ADD50BDC_4C4E6C14_7FEDD43D
PART2_GY = 0x0680512B_CBB42C07_D47349D2_153B70C4_E5D7FDFC_BFA36EA1_A85841B9_E46E09A2
PART2_N = 0x8542D69E_4C044F18_E8B92435_BF6FF7DD_29772063_0485628D_5AE74EE7_C32E79B7
PART2_D = 0x128B2FA8_BD433C6C_068C8D80_3DFF7979_2A519A55_171B1B65_0C23661D_15897263
PART2_XA = 0x0AE4C779_8AA0F119_471BEE11_825BE462_02BB79E2_A5844495_E97C04FF_4DF2548A
PART2_K = 0x6CB28D99_385C175C_94F94E93_4817663F_C176D925_DD72B727_260DBAAE_1FB2F96F
PART2_R = 0x40F1EC59_F793D9F4_9E09DCEF_49130D41_94F79FB1_EED2CAA5_5BACDB49_C4E755D1
PART2_S = 0x6FC6DAC3_2C5D5CF1_0C77DFB2_0F7C2EB6_67A45787_2FB09EC5_6327A67E_C7DEEBE7


def _fixed_k_core(ecdlp: Any, k: int) -> Any:
    return gmalg_sm2.SM2Core(ecdlp, gmalg_sm3.SM3(), lambda _bits: k)


def test_part5_vector_public_key_from_private(backend: Sm2Backend) -> None:
    assert backend.public_point(PART5_D) == (PART5_X, PART5_Y)


def test_part5_vector_signature_verifies(backend: Sm2Backend) -> None:
    signature = encode_der_signature(PART5_R, PART5_S)
    assert backend.verify((PART5_X, PART5_Y), MESSAGE, signature)
    assert verify(Sm2PublicKey(PART5_X, PART5_Y), MESSAGE, signature, backend)


def test_part5_vector_exact_r_s_with_given_k_in_reference() -> None:
    r, s = _fixed_k_core(gmalg_sm2._ecdlp, PART5_K).sign(MESSAGE, PART5_D, DEFAULT_SIGNER_ID)
    assert (r, s) == (PART5_R, PART5_S)


def test_part2_test_curve_exact_r_s_with_given_k_in_reference() -> None:
    ecdlp = gmalg_ec.ECDLP(PART2_P, PART2_A, PART2_B, (PART2_GX, PART2_GY), PART2_N)
    core = _fixed_k_core(ecdlp, PART2_K)
    public = core.generate_pk(PART2_D)
    assert public[0] == PART2_XA
    r, s = core.sign(MESSAGE, PART2_D, b"ALICE123@YAHOO.COM", public)
    assert (r, s) == (PART2_R, PART2_S)
    assert core.verify(MESSAGE, r, s, b"ALICE123@YAHOO.COM", public)


def test_signature_verifies_with_every_backend(backend: Sm2Backend, all_backends: list[Sm2Backend]) -> None:
    key = Sm2PrivateKey(backend.generate())
    signature = key.sign(b"guarantee GB2026-0001", backend)
    for verifier in all_backends:
        assert verify(key.public_key(), b"guarantee GB2026-0001", signature, verifier), verifier.name


def test_tampered_message_is_rejected(backend: Sm2Backend) -> None:
    key = Sm2PrivateKey(backend.generate())
    signature = key.sign(b"amount=100000000", backend)
    assert not verify(key.public_key(), b"amount=100000001", signature, backend)


def test_signature_by_another_key_is_rejected(backend: Sm2Backend) -> None:
    key, other = Sm2PrivateKey(backend.generate()), Sm2PrivateKey(backend.generate())
    assert not verify(other.public_key(), MESSAGE, key.sign(MESSAGE, backend), backend)


@pytest.mark.parametrize(
    ("r", "s"),
    [
        (0, PART5_S),
        (PART5_R, 0),
        (SM2_N, PART5_S),
        (PART5_R, SM2_N),
        (PART5_R + SM2_N, PART5_S),
        (PART5_R, PART5_S + SM2_N),
    ],
    ids=["r=0", "s=0", "r=n", "s=n", "r+n", "s+n"],
)
def test_r_or_s_outside_1_to_n_minus_1_is_rejected(backend: Sm2Backend, r: int, s: int) -> None:
    signature = encode_der_signature(r, s)
    # The backend itself refuses, not only the range check above it.
    assert not backend.verify((PART5_X, PART5_Y), MESSAGE, signature)
    assert not verify(Sm2PublicKey(PART5_X, PART5_Y), MESSAGE, signature, backend)


def test_off_curve_public_key_is_rejected(backend: Sm2Backend) -> None:
    signature = encode_der_signature(PART5_R, PART5_S)
    assert not backend.verify((PART5_X, PART5_Y + 1), MESSAGE, signature)
    assert not backend.verify((SM2_GX, SM2_GY + 1), MESSAGE, signature)


def test_two_signatures_of_one_message_differ(backend: Sm2Backend) -> None:
    key = Sm2PrivateKey(backend.generate())
    first, second = key.sign(MESSAGE, backend), key.sign(MESSAGE, backend)
    assert first != second
    assert verify(key.public_key(), MESSAGE, first, backend)
    assert verify(key.public_key(), MESSAGE, second, backend)


def test_generated_keys_are_in_range_and_distinct(backend: Sm2Backend) -> None:
    values = {backend.generate() for _ in range(5)}
    assert len(values) == 5
    assert all(1 <= value <= SM2_N - 2 for value in values)


# --- interop with the openssl 3 CLI, in both directions ------------------------------------------


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def test_openssl_verifies_what_the_backend_signs(backend: Sm2Backend, tmp_path: Path) -> None:
    key = Sm2PrivateKey(backend.generate())
    (tmp_path / "pub.pem").write_bytes(key.public_key().to_pem())
    (tmp_path / "msg").write_bytes("投标保函 GB2026-0001".encode())
    (tmp_path / "sig").write_bytes(key.sign((tmp_path / "msg").read_bytes(), backend))
    _openssl(
        "dgst", "-sm3", "-verify", str(tmp_path / "pub.pem"), "-sigopt", "distid:1234567812345678",
        "-signature", str(tmp_path / "sig"), str(tmp_path / "msg"),
    )  # fmt: skip


def test_backend_verifies_what_openssl_signs(backend: Sm2Backend, tmp_path: Path) -> None:
    _openssl("genpkey", "-algorithm", "SM2", "-out", str(tmp_path / "key.pem"))
    _openssl("pkey", "-in", str(tmp_path / "key.pem"), "-pubout", "-out", str(tmp_path / "pub.pem"))
    (tmp_path / "msg").write_bytes(b"callback body")
    _openssl(
        "dgst", "-sm3", "-sign", str(tmp_path / "key.pem"), "-sigopt", "distid:1234567812345678",
        "-out", str(tmp_path / "sig"), str(tmp_path / "msg"),
    )  # fmt: skip
    public = Sm2PublicKey.from_pem((tmp_path / "pub.pem").read_bytes())
    assert public == Sm2PrivateKey.from_pem((tmp_path / "key.pem").read_bytes()).public_key()
    signature = (tmp_path / "sig").read_bytes()
    assert verify(public, b"callback body", signature, backend)
    assert not verify(public, b"callback body!", signature, backend)
