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

import asyncio
import hashlib
import io
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from asn1crypto import algos, cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import simple_cms_attribute
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
MD_ALGORITHM: Final = "sha256"


@dataclass(frozen=True)
class LetterSigner:
    """The issuing institution's (or platform's) keys: SM2 with its certificate, and P-256 for PAdES."""

    sm2_key: Sm2PrivateKey = field(repr=False)
    sm2_certificate: Sm2Certificate
    pades: P256Identity

    @cached_property
    def _pades_signer(self) -> _PadesSigner:
        """Built once per LetterSigner (a new one after `dataclasses.replace`), shared by every letter."""
        return _PadesSigner.for_identity(self.pades)


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


class _PadesSigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner with the CMS parts that never change for one certificate built once.

    For every signature (and once more for pyHanko's size estimate) SimpleSigner rebuilds the
    signing-certificate-v2 attribute and the SignerInfo's issuer-and-serial from the certificate, and
    asn1crypto re-encodes the copied issuer name field by field: that was most of the signing time.
    Here pyHanko itself builds those parts once, in `for_identity`; they are kept as DER and parsed
    afresh for each signature (no asn1crypto object is shared between letters or threads), so the CMS
    is byte for byte what SimpleSigner makes, apart from the message digest and the ECDSA signature.
    Any request outside the PAdES/SHA-256 configuration they were built for goes to SimpleSigner.
    """

    _content_type_attr: bytes
    _signing_certificate_attr: bytes
    _sid: bytes
    _digest_algorithm: bytes
    _signature_algorithm: bytes
    bytes_reserved: int

    @classmethod
    def for_identity(cls, identity: P256Identity) -> _PadesSigner:
        key_der = identity.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        der = serialization.Encoding.DER
        certificate = asn1_x509.Certificate.load(identity.certificate.public_bytes(der))
        chain = [asn1_x509.Certificate.load(c.public_bytes(der)) for c in identity.chain]
        signer = cls(
            signing_cert=certificate,
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]  # unannotated upstream
        )
        signer._prepare()
        return signer

    def _prepare(self) -> None:
        template = asyncio.run(
            signers.SimpleSigner.signed_attrs(self, bytes(32), MD_ALGORITHM, use_pades=True)
        )
        by_type = {attribute["type"].native: attribute.dump() for attribute in template}
        if sorted(by_type) != ["content_type", "message_digest", "signing_certificate_v2"]:
            raise RuntimeError(f"unexpected PAdES signed attributes from pyHanko: {sorted(by_type)}")
        self._content_type_attr = by_type["content_type"]
        self._signing_certificate_attr = by_type["signing_certificate_v2"]
        info = signers.SimpleSigner.signer_info(self, MD_ALGORITHM, template, b"")
        self._sid = info["sid"].dump()
        self._digest_algorithm = info["digest_algorithm"].dump()
        self._signature_algorithm = info["signature_algorithm"].dump()
        # pyHanko's own estimate (a dry-run CMS, hex-encoded, plus its 50% margin), made once: the
        # CMS has the same size for every letter (only the digest and a <= 72-byte signature change).
        dry_run = asyncio.run(self.async_sign(bytes(32), MD_ALGORITHM, dry_run=True, use_pades=True))
        estimate = len(dry_run.dump()) * 2
        self.bytes_reserved = estimate + 2 * (estimate // 4)

    async def signed_attrs(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        attr_settings: Any = None,
        content_type: Any = "data",
        use_pades: bool = False,
        timestamper: Any = None,
        dry_run: bool = False,
        is_pdf_sig: bool = True,
    ) -> Any:
        plain = attr_settings is None or (
            getattr(attr_settings, "cades_signed_attrs", None) is None
            and getattr(attr_settings, "adobe_revinfo_attr", None) is None
        )
        if not (
            plain
            and digest_algorithm == MD_ALGORITHM
            and content_type == "data"
            and use_pades
            and timestamper is None
            and is_pdf_sig
            and len(data_digest) == hashlib.sha256().digest_size
        ):
            return await super().signed_attrs(
                data_digest,
                digest_algorithm,
                attr_settings=attr_settings,
                content_type=content_type,
                use_pades=use_pades,
                timestamper=timestamper,
                dry_run=dry_run,
                is_pdf_sig=is_pdf_sig,
            )
        return cms.CMSAttributes(
            [
                cms.CMSAttribute.load(self._content_type_attr),
                simple_cms_attribute("message_digest", data_digest),  # type: ignore[no-untyped-call]
                cms.CMSAttribute.load(self._signing_certificate_attr),
            ]
        )

    def signer_info(self, digest_algorithm: str, signed_attrs: Any, signature: Any) -> Any:
        if digest_algorithm != MD_ALGORITHM:
            return super().signer_info(digest_algorithm, signed_attrs, signature)
        return cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(self._sid),
                "digest_algorithm": algos.DigestAlgorithm.load(self._digest_algorithm),
                "signature_algorithm": algos.SignedDigestAlgorithm.load(self._signature_algorithm),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
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
        md_algorithm=MD_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=f"{data.product_title} {data.guarantee_no}",
        name=data.institution,
    )
    output = io.BytesIO()
    pades = signer._pades_signer
    signers.sign_pdf(writer, metadata, signer=pades, output=output, bytes_reserved=pades.bytes_reserved)
    return IssuedLetter(output.getvalue(), payload, signature_b64, sm3_hex(unsigned))
