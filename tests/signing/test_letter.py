"""The guarantee letter: embedded CJK font, PAdES valid in pdfsig, offline verification, tampering."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cli.letter import command as letter_command
from signing.certificates import TrustStore
from signing.errors import InvalidLetterDataError, NotAPdfError, SigningError
from signing.letter import IssuedLetter, LetterData, issue_letter, render_letter, verify_letter
from signing.letter.sandbox import SandboxPki, sample_letter, sandbox_pki
from signing.sm3 import sm3_hex


@pytest.fixture(scope="module")
def pki() -> SandboxPki:
    return sandbox_pki()


@pytest.fixture(scope="module")
def trust(pki: SandboxPki) -> TrustStore:
    return TrustStore.from_pem(pki.trust_pem())


@pytest.fixture(scope="module")
def issued(pki: SandboxPki) -> IssuedLetter:
    return issue_letter(sample_letter(), pki.signer)


def test_every_font_is_embedded_and_the_page_renders(issued: IssuedLetter, tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(issued.pdf)
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows, fonts
    assert all(row.split()[-5] == "yes" and row.split()[-4] == "yes" for row in rows), fonts  # emb, sub
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 10_000
    assert len(issued.pdf) < 200_000  # subset, not the whole 5 MB font


def test_text_is_chinese_and_complete(issued: IssuedLetter, tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(issued.pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    flat = "".join(text.split())
    for expected in ("投标保函", "GB20260301000123", "某市城市建设投资集团有限公司", "91310000MA1FL4CT3X",
                     "施工总承包第一标段", "¥800,000.00", "人民币捌拾万元整", "2026年6月29日", "7K3Q9XMT",
                     "索赔条款", "示例银行股份有限公司上海分行"):  # fmt: skip
        assert expected in flat, expected


def test_pdfsig_reports_the_signature_valid(issued: IssuedLetter, tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(issued.pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Total document signed" in out


def test_verifies_offline_with_trust(issued: IssuedLetter, trust: TrustStore) -> None:
    result = verify_letter(issued.pdf, trust)
    assert result.ok, result.checks
    assert [check.name for check in result.checks] == [
        "pades-signature", "pades-certificate", "evidence", "sm2-signature", "sm2-certificate", "pdf-binding",
    ]  # fmt: skip
    assert result.letter == sample_letter()


def test_payload_binds_data_and_rendered_pdf(issued: IssuedLetter) -> None:
    assert issued.pdf_sm3 in issued.payload.decode()
    length = int(issued.payload.decode().split('"pdf_length":')[1].split(",")[0])
    assert sm3_hex(issued.pdf[:length]) == issued.pdf_sm3


def test_without_trust_roots_cannot_confirm(issued: IssuedLetter) -> None:
    result = verify_letter(issued.pdf, TrustStore(()))
    assert not result.ok
    failed = {check.name for check in result.checks if not check.ok}
    assert failed == {"pades-certificate", "sm2-certificate"}


def test_other_roots_are_not_trusted(issued: IssuedLetter) -> None:
    stranger = sandbox_pki()
    result = verify_letter(issued.pdf, TrustStore.from_pem(stranger.trust_pem()))
    assert not result.ok


def test_a_letter_signed_by_another_institution_with_copied_evidence_fails(
    pki: SandboxPki, trust: TrustStore
) -> None:
    forged_data = dataclasses.replace(sample_letter(), amount_fen=8_000_000_000)
    impostor = sandbox_pki()
    forged = issue_letter(
        forged_data, dataclasses.replace(impostor.signer, sm2_certificate=pki.signer.sm2_certificate)
    )
    result = verify_letter(forged.pdf, trust)
    assert not result.ok
    assert not next(check for check in result.checks if check.name == "sm2-signature").ok


# Positions across the file: header, page content, font, embedded evidence, signature, trailer.
@pytest.mark.parametrize("fraction", [i / 40 for i in range(40)] + [0.9999])
def test_any_changed_byte_fails(issued: IssuedLetter, trust: TrustStore, fraction: float) -> None:
    data = bytearray(issued.pdf)
    position = min(int(len(data) * fraction), len(data) - 1)
    data[position] = (data[position] + 1) % 256 if data[position] != 0x30 else 0x31
    try:
        result = verify_letter(bytes(data), trust)
    except NotAPdfError:
        return
    assert not result.ok, position


def test_changed_byte_in_signature_padding_fails(issued: IssuedLetter, trust: TrustStore) -> None:
    data = bytearray(issued.pdf)
    position = data.rfind(b"0000000000>")  # the unused, zero-filled tail of /Contents
    assert position > 0
    data[position + 4] = ord("1")
    assert not verify_letter(bytes(data), trust).ok


def test_appended_bytes_fail(issued: IssuedLetter, trust: TrustStore) -> None:
    assert not verify_letter(issued.pdf + b"\n% appended\n", trust).ok


def test_unsigned_pdf_fails_verification(trust: TrustStore) -> None:
    result = verify_letter(render_letter(sample_letter()), trust)
    assert not result.ok


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF"])
def test_not_a_pdf_is_a_typed_error(data: bytes, trust: TrustStore) -> None:
    try:
        result = verify_letter(data, trust)
    except NotAPdfError:
        return
    assert not result.ok


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_into_verify(data: bytes) -> None:
    try:
        result = verify_letter(b"%PDF-1.7\n" + data, TrustStore(()))
    except SigningError:
        return
    assert not result.ok


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fuzz_mutated_letter_into_verify(
    issued: IssuedLetter, trust: TrustStore, data: st.DataObject
) -> None:
    pdf = bytearray(issued.pdf)
    count = data.draw(st.integers(min_value=1, max_value=4))
    for _ in range(count):
        position = data.draw(st.integers(min_value=0, max_value=len(pdf) - 1))
        pdf[position] = (pdf[position] + data.draw(st.integers(min_value=1, max_value=255))) % 256
    # Two mutations of one byte can cancel out (hypothesis found +1 then +255): the letter is then
    # the signed one again and must still verify.
    unchanged = bytes(pdf) == issued.pdf
    try:
        result = verify_letter(bytes(pdf), trust)
    except SigningError:
        assert not unchanged
        return
    assert result.ok is unchanged


def test_letter_data_refuses_float_amounts_and_bad_dates() -> None:
    with pytest.raises(InvalidLetterDataError):
        dataclasses.replace(sample_letter(), amount_fen=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidLetterDataError):
        dataclasses.replace(sample_letter(), cover_end="2026-02-30")
    with pytest.raises(InvalidLetterDataError):
        dataclasses.replace(sample_letter(), cover_end="2026-01-01")
    assert LetterData.from_canonical(sample_letter().canonical()) == sample_letter()


def test_cli_verify_prints_each_check_and_exit_codes(
    issued: IssuedLetter, pki: SandboxPki, tmp_path: Path
) -> None:
    (tmp_path / "letter.pdf").write_bytes(issued.pdf)
    (tmp_path / "trust.pem").write_bytes(pki.trust_pem())
    runner = CliRunner()
    ok = runner.invoke(
        letter_command, ["verify", "--trust", str(tmp_path / "trust.pem"), str(tmp_path / "letter.pdf")]
    )
    assert ok.exit_code == 0, ok.output
    assert ok.output.count("ok   ") == 6
    untrusted = runner.invoke(letter_command, ["verify", str(tmp_path / "letter.pdf")])
    assert untrusted.exit_code == 1
    assert "FAIL pades-certificate: cannot confirm" in untrusted.output
    (tmp_path / "x.pdf").write_bytes(b"not a pdf")
    bad = runner.invoke(letter_command, ["verify", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1


def test_cli_sample_then_verify(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(letter_command, ["sample", "--out", str(tmp_path)]).exit_code == 0
    args = ["verify", "--trust", str(tmp_path / "trust.pem"), str(tmp_path / "letter.pdf")]
    assert runner.invoke(letter_command, args).exit_code == 0
