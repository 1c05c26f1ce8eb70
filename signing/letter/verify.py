"""Offline verification of a signed letter from the PDF alone (see issue.py for the scheme).

Checks, each reported as ok/FAIL with a reason:
  pades-signature     one PAdES signature, cryptographically intact, covering the entire file,
                      and nothing hidden in the unused part of its /Contents
  pades-certificate   the PAdES signer chains to a trusted root (valid now, signing key usage)
  evidence            guarantee.json, guarantee.sm2.sig, signer.sm2.pem present and well-formed
  sm2-signature       the SM2 signature over guarantee.json verifies with signer.sm2.pem's key
  sm2-certificate     the SM2 certificate chains to a trusted root, valid now, digitalSignature
  pdf-binding         SM3 of the first pdf_length bytes equals pdf_sm3 (the rendered letter)
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any, Final

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signing.canonical import canonical_json
from signing.certificates import (
    Sm2Certificate,
    Sm2SignatureValidator,
    TrustStore,
    verify_certificate,
)
from signing.errors import NotAPdfError, SigningError
from signing.letter.issue import CERTIFICATE_FILE, PAYLOAD_FILE, SCHEME, SIGNATURE_FILE
from signing.letter.model import LetterData
from signing.sm2 import b64decode_strict, verify
from signing.sm3 import sm3_hex

MAX_PDF_BYTES: Final = 20 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class LetterVerification:
    checks: tuple[Check, ...]
    letter: LetterData | None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)


def _open(pdf: bytes) -> PdfFileReader:
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf[:1024]).lstrip().startswith(b"%PDF-"):
        raise NotAPdfError("not a PDF (no %PDF- header)")
    if len(pdf) > MAX_PDF_BYTES:
        raise NotAPdfError("PDF larger than 20 MiB")
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        reader.root  # noqa: B018 - forces the trailer and catalog to parse
    except Exception as exc:  # pyHanko raises many exception types on damaged files
        raise NotAPdfError(f"unreadable PDF: {type(exc).__name__}") from exc
    return reader


def _embedded_files(reader: PdfFileReader) -> dict[str, bytes]:
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    files: dict[str, bytes] = {}
    for index in range(0, len(names) - 1, 2):
        spec = names[index + 1].get_object()
        files[str(names[index])] = bytes(spec["/EF"]["/F"].get_object().data)
    return files


def _pades_checks(reader: PdfFileReader, trust: TrustStore, at: dt.datetime) -> list[Check]:
    signatures = reader.embedded_signatures
    if len(signatures) != 1:
        return [
            Check("pades-signature", False, f"expected one PDF signature, found {len(signatures)}"),
            Check("pades-certificate", False, "no single PDF signature to check"),
        ]
    embedded = signatures[0]
    context = ValidationContext(
        trust_roots=[root.asn1 for root in trust.roots],
        moment=at,
        allow_fetching=False,
        revocation_mode="soft-fail",
        signature_validator=Sm2SignatureValidator(),
    )
    status = validate_pdf_signature(embedded, signer_validation_context=context)
    contents = bytes(embedded.sig_object.raw_get("/Contents").original_bytes)
    used = len(embedded.signed_data.dump()) if embedded.signed_data is not None else 0
    padding_clean = not contents[used + 64 :].strip(b"\x00") and _cms_length(contents) <= len(contents)
    signer = status.signing_cert.subject.human_friendly if status.signing_cert is not None else "?"
    if not (status.intact and status.valid):
        integrity = Check("pades-signature", False, "PDF signature does not match the document")
    elif status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        integrity = Check("pades-signature", False, "bytes were added after the PDF signature")
    elif not padding_clean:
        integrity = Check("pades-signature", False, "unexpected data in the signature's /Contents")
    else:
        integrity = Check("pades-signature", True, f"intact, covers the whole file; signer {signer}")
    if not trust.roots:
        trusted = Check("pades-certificate", False, "cannot confirm: no --trust roots given")
    elif status.trusted:
        trusted = Check("pades-certificate", True, "chains to a trusted root")
    else:
        trusted = Check("pades-certificate", False, f"signer {signer} does not chain to a trusted root")
    return [integrity, trusted]


def _cms_length(contents: bytes) -> int:
    """Length of the DER object at the start of /Contents (header included)."""
    if len(contents) < 2 or contents[0] != 0x30:
        return len(contents) + 1
    first = contents[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(contents[2 : 2 + count], "big")


def _evidence(reader: PdfFileReader) -> tuple[bytes, bytes, Sm2Certificate, dict[str, Any]]:
    try:
        files = _embedded_files(reader)
    except Exception as exc:  # missing /Names tree or a damaged one
        raise NotAPdfError("no embedded guarantee evidence") from exc
    missing = [name for name in (PAYLOAD_FILE, SIGNATURE_FILE, CERTIFICATE_FILE) if name not in files]
    if missing:
        raise NotAPdfError(f"embedded evidence missing: {', '.join(missing)}")
    payload = files[PAYLOAD_FILE]
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotAPdfError("guarantee.json is not JSON") from exc
    if not isinstance(value, dict) or value.get("scheme") != SCHEME or canonical_json(value) != payload:
        raise NotAPdfError(f"guarantee.json is not a canonical {SCHEME} payload")
    signature = b64decode_strict(files[SIGNATURE_FILE])
    certificate = Sm2Certificate.from_pem(files[CERTIFICATE_FILE])
    return payload, signature, certificate, value


def verify_letter(pdf: bytes, trust: TrustStore, *, at: dt.datetime | None = None) -> LetterVerification:
    """Every check, never raising for a damaged signed letter; raises NotAPdfError for non-PDFs."""
    moment = at or dt.datetime.now(dt.UTC)
    reader = _open(pdf)
    checks: list[Check] = []
    try:
        checks.extend(_pades_checks(reader, trust, moment))
    except Exception as exc:  # noqa: BLE001 - a damaged signature dictionary can fail anywhere inside pyHanko
        checks.append(Check("pades-signature", False, f"PDF signature unreadable: {type(exc).__name__}"))
        checks.append(Check("pades-certificate", False, "PDF signature unreadable"))

    try:
        payload, signature, certificate, value = _evidence(reader)
    except SigningError as exc:
        checks.append(Check("evidence", False, str(exc)))
        checks.extend(
            Check(name, False, "no usable embedded evidence")
            for name in ("sm2-signature", "sm2-certificate", "pdf-binding")
        )
        return LetterVerification(tuple(checks), None)
    letter: LetterData | None
    try:
        letter = LetterData.from_canonical(value.get("letter"))
        checks.append(
            Check("evidence", True, f"guarantee {letter.guarantee_no} by {certificate.common_name}")
        )
    except SigningError as exc:
        letter = None
        checks.append(Check("evidence", False, str(exc)))

    try:
        sm2_ok = verify(certificate.sm2_public_key(), payload, signature)
        detail = "valid over guarantee.json" if sm2_ok else "does not verify over guarantee.json"
    except SigningError as exc:
        sm2_ok, detail = False, str(exc)
    checks.append(Check("sm2-signature", sm2_ok, detail))

    verdict = verify_certificate(certificate, trust, at=moment)
    if not trust.roots:
        checks.append(Check("sm2-certificate", False, "cannot confirm: no --trust roots given"))
    else:
        checks.append(Check("sm2-certificate", verdict.ok, verdict.reason))

    length, digest = value.get("pdf_length"), value.get("pdf_sm3")
    if not isinstance(length, int) or not isinstance(digest, str) or not 0 < length <= len(pdf):
        checks.append(Check("pdf-binding", False, "payload has no valid pdf_length/pdf_sm3"))
    elif sm3_hex(bytes(pdf[:length])) != digest:
        checks.append(
            Check("pdf-binding", False, "SM3 of the rendered letter does not match the signed data")
        )
    else:
        checks.append(Check("pdf-binding", True, f"SM3 of the first {length} bytes matches"))
    return LetterVerification(tuple(checks), letter)
