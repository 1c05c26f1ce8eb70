"""The shared vocabulary: types and models that cross a boundary. Imports only pydantic and the stdlib."""

from contracts.capitals import MAX_FEN, amount_in_capitals
from contracts.descriptors import BidderDescriptor, InstitutionDescriptor, SectionDescriptor
from contracts.enums import (
    DecisionMode,
    GuaranteeStatus,
    InstitutionKind,
    IntegrationMode,
    Product,
    SurrenderReason,
)
from contracts.errors import ContractValueError
from contracts.identifiers import GuaranteeNo, GuaranteeNoError, SectionCode, SectionCodeError
from contracts.money import ZERO, Money, MoneyError
from contracts.uscc import Uscc, UsccError, compute_check_character, is_valid_uscc, make_uscc

__all__ = [
    "MAX_FEN",
    "ZERO",
    "BidderDescriptor",
    "ContractValueError",
    "DecisionMode",
    "GuaranteeNo",
    "GuaranteeNoError",
    "GuaranteeStatus",
    "InstitutionDescriptor",
    "InstitutionKind",
    "IntegrationMode",
    "Money",
    "MoneyError",
    "Product",
    "SectionCode",
    "SectionCodeError",
    "SectionDescriptor",
    "SurrenderReason",
    "Uscc",
    "UsccError",
    "amount_in_capitals",
    "compute_check_character",
    "is_valid_uscc",
    "make_uscc",
]
