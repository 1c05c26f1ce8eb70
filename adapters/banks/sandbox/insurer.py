"""示范保险 (sandbox): an insurer (保证保险) whose underwriters review each application; the decision
comes later through the partner API or `gateway institutions decide`."""

from __future__ import annotations

from pathlib import Path

from adapters.banks.sandbox.core import SandboxInstitution, load_or_create_identity
from contracts.enums import DecisionMode, InstitutionKind

CODE = "SBX-INSURER"
NAME = "示范财产保险股份有限公司"
KIND = InstitutionKind.INSURER
DECISION = DecisionMode.REVIEW


def make(pki_dir: Path) -> SandboxInstitution:
    identity = load_or_create_identity(pki_dir, CODE, NAME)
    return SandboxInstitution(CODE, NAME, KIND, DECISION, identity, number_prefix="IN")
