"""The letter's fast paths (signing/letter/issue.py `_PadesSigner`, render.py `_draw_qr`) give the same
result as the slow ones they replace: pyHanko's SimpleSigner CMS, and one filled square per QR module."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import subprocess
from pathlib import Path

import pytest
import qrcode
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from signing.certificates import TrustStore
from signing.letter import issue_letter, render_letter, verify_letter
from signing.letter.issue import MD_ALGORITHM, LetterSigner, _PadesSigner
from signing.letter.render import QR_MASK
from signing.letter.sandbox import SandboxPki, sample_letter, sandbox_pki


@pytest.fixture(scope="module")
def pki() -> SandboxPki:
    return sandbox_pki()


def _plain_simple_signer(fast: _PadesSigner) -> signers.SimpleSigner:
    return signers.SimpleSigner(
        signing_cert=fast.signing_cert, signing_key=fast.signing_key, cert_registry=fast.cert_registry
    )


def _without_signature(content_info: cms.ContentInfo) -> bytes:
    copy = cms.ContentInfo.load(content_info.dump())
    copy["content"]["signer_infos"][0]["signature"] = b""
    return bytes(copy.dump(force=True))


@pytest.mark.parametrize("dry_run", [False, True])
def test_cms_is_what_simple_signer_makes_apart_from_the_signature(pki: SandboxPki, dry_run: bool) -> None:
    fast = _PadesSigner.for_identity(pki.signer.pades)
    plain = _plain_simple_signer(fast)
    digest = hashlib.sha256(b"letter bytes").digest()

    async def both() -> tuple[cms.ContentInfo, cms.ContentInfo]:
        ours = await fast.async_sign(digest, MD_ALGORITHM, dry_run=dry_run, use_pades=True)
        theirs = await plain.async_sign(digest, MD_ALGORITHM, dry_run=dry_run, use_pades=True)
        return ours, theirs

    ours, theirs = asyncio.run(both())
    assert _without_signature(ours) == _without_signature(theirs)
    attrs = ours["content"]["signer_infos"][0]["signed_attrs"]
    assert [a["type"].native for a in attrs] == ["content_type", "message_digest", "signing_certificate_v2"]
    assert attrs[1]["values"][0].native == digest


def test_requests_outside_the_cached_configuration_go_to_simple_signer(pki: SandboxPki) -> None:
    fast = _PadesSigner.for_identity(pki.signer.pades)
    plain = _plain_simple_signer(fast)
    digest = hashlib.sha384(b"x").digest()
    ours = asyncio.run(fast.async_sign(digest, "sha384", use_pades=True))
    theirs = asyncio.run(plain.async_sign(digest, "sha384", use_pades=True))
    assert _without_signature(ours) == _without_signature(theirs)
    cades = asyncio.run(fast.async_sign(hashlib.sha256(b"x").digest(), MD_ALGORITHM, use_pades=False))
    names = [a["type"].native for a in cades["content"]["signer_infos"][0]["signed_attrs"]]
    assert "cms_algorithm_protection" in names  # non-PAdES attributes still come from pyHanko


def test_signer_is_built_once_per_letter_signer_and_anew_after_replace(pki: SandboxPki) -> None:
    first = issue_letter(sample_letter(), pki.signer)
    built = pki.signer._pades_signer
    issue_letter(sample_letter(), pki.signer)
    assert pki.signer._pades_signer is built
    other = sandbox_pki()
    replaced = dataclasses.replace(pki.signer, pades=other.signer.pades)
    assert replaced._pades_signer is not built
    second = issue_letter(sample_letter(), replaced)
    signer_of = [
        PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0].signer_cert.dump()
        for pdf in (first.pdf, second.pdf)
    ]
    assert signer_of[0] != signer_of[1]
    assert not verify_letter(second.pdf, TrustStore.from_pem(pki.trust_pem())).ok
    assert LetterSigner.__dataclass_fields__.keys() == {"sm2_key", "sm2_certificate", "pades"}


def test_reserved_space_holds_every_signature(pki: SandboxPki) -> None:
    for index in range(20):
        letter = issue_letter(
            dataclasses.replace(sample_letter(), guarantee_no=f"GB2026{index:010d}"), pki.signer
        )
        embedded = PdfFileReader(io.BytesIO(letter.pdf)).embedded_signatures[0]
        contents = bytes(embedded.sig_object.raw_get("/Contents").original_bytes)
        assert embedded.signed_data is not None
        assert len(contents) >= len(embedded.signed_data.dump()) * 1.4


def _pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    fields: list[bytes] = []
    position = 0
    while len(fields) < 4:
        while data[position : position + 1].isspace():
            position += 1
        end = position
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    assert fields[0] == b"P5"
    assert fields[3] == b"255"
    return int(fields[1]), int(fields[2]), data[position + 1 :]


@pytest.mark.parametrize("code", ["7K3Q9XMT", "A" * 40])
def test_vector_qr_code_has_every_module_where_the_matrix_says(code: str, tmp_path: Path) -> None:
    data = dataclasses.replace(sample_letter(), verification_code=code)
    (tmp_path / "letter.pdf").write_bytes(render_letter(data))
    dpi = 200
    subprocess.run(
        ["pdftoppm", "-gray", "-r", str(dpi), str(tmp_path / "letter.pdf"), str(tmp_path / "page")],
        check=True,
    )
    width, height, pixels = _pgm(next(tmp_path.glob("page*.pgm")))
    reference = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, mask_pattern=QR_MASK
    )
    reference.add_data(data.verify_url)
    reference.make(fit=True)
    matrix: list[list[bool]] = reference.get_matrix()
    scale = dpi / 72
    left, top, size = 22 * mm * scale, (A4[1] - 22 * mm - 34 * mm) * scale, 34 * mm * scale
    module = size / len(matrix)
    for row_index, row in enumerate(matrix):
        for column_index, dark in enumerate(row):
            x = int(left + (column_index + 0.5) * module)
            y = int(top + (row_index + 0.5) * module)
            assert 0 <= x < width
            assert 0 <= y < height
            value = pixels[y * width + x]
            assert (value < 80) if dark else (value > 175), (row_index, column_index, value)


@pytest.mark.parametrize("code", ["7K3Q9XMT", "MWX2P8RA", "A" * 40])
def test_the_fixed_qr_mask_scores_close_to_the_best_mask(code: str) -> None:
    """The letter's QR uses mask QR_MASK instead of searching all eight: its ISO 18004 penalty stays
    within 15% of the best mask's for verify URLs like ours."""
    url = dataclasses.replace(sample_letter(), verification_code=code).verify_url
    penalties = []
    for mask in range(8):
        symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, mask_pattern=mask)
        symbol.add_data(url)
        symbol.make(fit=True)
        penalties.append(qrcode.util.lost_point(symbol.modules))
    assert penalties[QR_MASK] <= min(penalties) * 1.15, penalties
