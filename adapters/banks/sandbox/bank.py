"""示范银行 (sandbox): a bank that quotes a flat rate and approves instantly."""

from __future__ import annotations

from pathlib import Path

from adapters.banks.sandbox.core import SandboxInstitution, load_or_create_identity
from contracts.enums import DecisionMode, InstitutionKind

CODE = "SBX-BANK"
NAME = "示范银行股份有限公司深圳分行"
KIND = InstitutionKind.BANK
DECISION = DecisionMode.INSTANT


def make(pki_dir: Path) -> SandboxInstitution:
    identity = load_or_create_identity(pki_dir, CODE, NAME)
    return SandboxInstitution(CODE, NAME, KIND, DECISION, identity, number_prefix="BK")
