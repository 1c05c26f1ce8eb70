"""示范担保 (sandbox): a guarantee company with domain.md's tiered fee schedule, instant decisions."""

from __future__ import annotations

from pathlib import Path

from adapters.banks.sandbox.core import SandboxInstitution, load_or_create_identity
from contracts.enums import DecisionMode, InstitutionKind

CODE = "SBX-GUARANTOR"
NAME = "示范融资担保有限公司"
KIND = InstitutionKind.GUARANTEE_COMPANY
DECISION = DecisionMode.INSTANT


def make(pki_dir: Path) -> SandboxInstitution:
    identity = load_or_create_identity(pki_dir, CODE, NAME)
    return SandboxInstitution(CODE, NAME, KIND, DECISION, identity, number_prefix="GC")
