"""A sandbox signer and a sample letter: used by demo seeding, `gateway letter sample`, tests, bench."""

from __future__ import annotations

from dataclasses import dataclass

from signing.certificates import Sm2Certificate, create_root_ca, issue_certificate
from signing.letter.issue import LetterSigner
from signing.letter.model import LetterData
from signing.pades_certs import P256Identity, create_p256_ca, issue_p256_signing_identity
from signing.sm2 import Sm2PrivateKey


@dataclass(frozen=True)
class SandboxPki:
    sm2_root: Sm2Certificate
    pades_root: P256Identity
    signer: LetterSigner

    def trust_pem(self) -> bytes:
        """Both roots in one bundle, as `gateway letter verify --trust` takes it."""
        return self.sm2_root.to_pem() + self.pades_root.certificate_pem()


def sandbox_pki(institution: str = "示例银行股份有限公司上海分行") -> SandboxPki:
    root_key = Sm2PrivateKey.generate()
    sm2_root = create_root_ca(root_key, "电子保函网关沙箱SM2根CA", organization="电子保函网关沙箱")
    key = Sm2PrivateKey.generate()
    certificate = issue_certificate(
        root_key, sm2_root, key.public_key(), institution, organization=institution
    )
    pades_root = create_p256_ca("电子保函网关沙箱文档签名CA", organization="电子保函网关沙箱")
    pades = issue_p256_signing_identity(pades_root, institution, organization=institution)
    return SandboxPki(sm2_root, pades_root, LetterSigner(key, certificate, pades))


def sample_letter(institution: str = "示例银行股份有限公司上海分行") -> LetterData:
    return LetterData(
        guarantee_no="GB20260301000123",
        product_title="投标保函",
        beneficiary="某市城市建设投资集团有限公司",
        applicant="某某建筑工程有限公司",
        applicant_uscc="91310000MA1FL4CT3X",
        project_name="某市第一人民医院新院区建设工程",
        section_name="施工总承包第一标段",
        section_code="SG-2026-0158-01",
        amount_fen=80_000_000,
        cover_start="2026-03-01",
        cover_end="2026-06-29",
        institution=institution,
        issue_date="2026-03-01",
        verification_code="7K3Q9XMT",
        verify_base_url="http://127.0.0.1:8000",
    )
