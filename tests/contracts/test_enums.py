from __future__ import annotations

from enum import StrEnum

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.enums import (
    DecisionMode,
    GuaranteeStatus,
    InstitutionKind,
    IntegrationMode,
    Product,
    SurrenderReason,
)

LABELLED: list[type[Product | GuaranteeStatus | InstitutionKind | SurrenderReason]] = [
    Product,
    GuaranteeStatus,
    InstitutionKind,
    SurrenderReason,
]


@pytest.mark.parametrize("enum", LABELLED)
def test_every_member_has_its_own_chinese_label(enum: type[StrEnum]) -> None:
    labels = [member.zh for member in enum]  # type: ignore[attr-defined]
    assert all(labels)
    assert len(set(labels)) == len(labels)


def test_domain_labels() -> None:
    assert Product.BID.zh == "投标保函"
    assert Product.PROCUREMENT_LOAN.zh == "政采贷"
    assert GuaranteeStatus.DRAFT.zh == "暂存"
    assert GuaranteeStatus.UNDER_REVIEW.zh == "待审核"
    assert GuaranteeStatus.AWAITING_PAYMENT.zh == "待支付"
    assert GuaranteeStatus.REJECTED.zh == "审核不通过"
    assert GuaranteeStatus.PAID.zh == "保函待开具"
    assert GuaranteeStatus.ISSUED.zh == "完成"
    assert GuaranteeStatus.CANCELLED.zh == "注销"
    assert InstitutionKind.GUARANTEE_COMPANY.zh == "担保公司"
    assert SurrenderReason.FAILED_TENDER.zh == "流标"
    assert SurrenderReason.TERMINATED.zh == "招标终止"


def test_wire_values_are_the_lower_snake_case_names() -> None:
    for enum in (*LABELLED, DecisionMode, IntegrationMode):
        for member in enum:
            assert member.value == member.name.lower()
            assert f"{member}" == member.value


def test_status_set_matches_the_order_life_in_domain_md() -> None:
    assert {s.value for s in GuaranteeStatus} == {
        "draft", "quoting", "offered", "accepted", "under_review", "awaiting_payment", "paid",
        "issued", "rejected", "expired_offer", "locked", "released", "claimed", "claim_paid",
        "claim_refused", "surrendered", "expired", "cancelled",
    }  # fmt: skip


def test_pydantic_reads_values_and_refuses_unknown() -> None:
    adapter = TypeAdapter(Product)
    assert adapter.validate_json('"migrant_wage"') is Product.MIGRANT_WAGE
    with pytest.raises(ValidationError):
        adapter.validate_json('"投标保函"')
    assert adapter.dump_json(Product.BID) == b'"bid"'
