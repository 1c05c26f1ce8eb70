"""Issue a letter: render, bind with SM2 over (canonical data + SM3 of the rendered PDF), embed the
evidence, then PAdES-sign the whole file with the institution's ECDSA P-256 key (pyHanko).

Evidence embedded in the PDF (as embedded files, written in the same incremental update as the
PAdES signature, so the PAdES signature covers them):
  guarantee.json      the signed payload, canonical JSON:
                      {"letter": <LetterData.canonical()>, "pdf_length": N, "pdf_sm3": hex,
                       "scheme": "gw-letter-sm2/1"}
  guarantee.sm2.sig   base64 DER SM2 signature (signer ID 1234567812345678) over guarantee.json
  signer.sm2.pem      the institution's SM2 certificate
The rendered, unsigned PDF is the first N bytes of the final file (incremental updates only append),
so a verifier recomputes SM3 over exactly those bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Final

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.canonical import canonical_json
from signing.certificates import Sm2Certificate
from signing.letter.model import LetterData
from signing.letter.render import render_letter
from signing.pades_certs import P256Identity
from signing.sm2 import Sm2PrivateKey, b64encode
from signing.sm3 import sm3_hex

SCHEME: Final = "gw-letter-sm2/1"
PAYLOAD_FILE: Final = "guarantee.json"
SIGNATURE_FILE: Final = "guarantee.sm2.sig"
CERTIFICATE_FILE: Final = "signer.sm2.pem"
SIGNATURE_FIELD: Final = "GuaranteeSignature"


@dataclass(frozen=True)
class LetterSigner:
    """The issuing institution's (or platform's) keys: SM2 with its certificate, and P-256 for PAdES."""

    sm2_key: Sm2PrivateKey = field(repr=False)
    sm2_certificate: Sm2Certificate
    pades: P256Identity


@dataclass(frozen=True)
class IssuedLetter:
    pdf: bytes
    payload: bytes  # canonical JSON that the SM2 signature covers (store it with the guarantee)
    sm2_signature_b64: str
    pdf_sm3: str


def signed_payload(data: LetterData, unsigned_pdf: bytes) -> bytes:
    value: dict[str, Any] = {
        "letter": data.canonical(),
        "pdf_length": len(unsigned_pdf),
        "pdf_sm3": sm3_hex(unsigned_pdf),
        "scheme": SCHEME,
    }
    return canonical_json(value)


def _pades_signer(identity: P256Identity) -> signers.SimpleSigner:
    key_der = identity.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    certificate = asn1_x509.Certificate.load(identity.certificate.public_bytes(serialization.Encoding.DER))
    chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in identity.chain]
    return signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]  # unannotated upstream
    )


def _embed(writer: IncrementalPdfFileWriter, name: str, content: bytes, description: str) -> None:
    data = embed.EmbeddedFileObject.from_file_data(writer, content, compress=False)
    embed.embed_file(
        writer,
        embed.FileSpec(file_spec_string=name, file_name=name, embedded_data=data, description=description),
    )


def issue_letter(data: LetterData, signer: LetterSigner) -> IssuedLetter:
    unsigned = render_letter(data)
    payload = signed_payload(data, unsigned)
    signature_b64 = b64encode(signer.sm2_key.sign(payload))

    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned))
    _embed(writer, PAYLOAD_FILE, payload, "signed guarantee data (canonical JSON)")
    _embed(writer, SIGNATURE_FILE, signature_b64.encode("ascii"), "SM2 signature over guarantee.json")
    _embed(writer, CERTIFICATE_FILE, signer.sm2_certificate.to_pem(), "the signer's SM2 certificate")
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=f"{data.product_title} {data.guarantee_no}",
        name=data.institution,
    )
    output = io.BytesIO()
    signers.sign_pdf(writer, metadata, signer=_pades_signer(signer.pades), output=output)
    return IssuedLetter(output.getvalue(), payload, signature_b64, sm3_hex(unsigned))
