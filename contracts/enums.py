"""The closed vocabularies of the domain (design/domain.md), with the Chinese labels used in UI and letters.

Values are the wire and database spelling and never change; `.zh` labels are display text. Status
labels follow the real platforms quoted in domain.md (暂存, 待审核, 待支付, 审核不通过, 保函待开具, 完成,
解保, 退保, 理赔, 注销); the states those platforms do not show get plain descriptive labels.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Product(StrEnum):
    BID = "bid"
    PERFORMANCE = "performance"
    ADVANCE_PAYMENT = "advance_payment"
    MIGRANT_WAGE = "migrant_wage"
    LOW_PRICE_RISK = "low_price_risk"
    # Financing, not a guarantee (domain.md), but sold through the same channel.
    PROCUREMENT_LOAN = "procurement_loan"

    @property
    def zh(self) -> str:
        return _PRODUCT_ZH[self]


_PRODUCT_ZH: Final = {
    Product.BID: "投标保函",
    Product.PERFORMANCE: "履约保函",
    Product.ADVANCE_PAYMENT: "预付款保函",
    Product.MIGRANT_WAGE: "农民工工资保函",
    Product.LOW_PRICE_RISK: "低价风险保函",
    Product.PROCUREMENT_LOAN: "政采贷",
}


class GuaranteeStatus(StrEnum):
    DRAFT = "draft"
    QUOTING = "quoting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    UNDER_REVIEW = "under_review"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    ISSUED = "issued"
    REJECTED = "rejected"
    EXPIRED_OFFER = "expired_offer"
    LOCKED = "locked"
    RELEASED = "released"
    CLAIMED = "claimed"
    CLAIM_PAID = "claim_paid"
    CLAIM_REFUSED = "claim_refused"
    SURRENDERED = "surrendered"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def zh(self) -> str:
        return _STATUS_ZH[self]


_STATUS_ZH: Final = {
    GuaranteeStatus.DRAFT: "暂存",
    GuaranteeStatus.QUOTING: "询价中",
    GuaranteeStatus.OFFERED: "已报价",
    GuaranteeStatus.ACCEPTED: "已选择报价",
    GuaranteeStatus.UNDER_REVIEW: "待审核",
    GuaranteeStatus.AWAITING_PAYMENT: "待支付",
    # Paid but not yet issued is what the platforms call 保函待开具.
    GuaranteeStatus.PAID: "保函待开具",
    GuaranteeStatus.ISSUED: "完成",
    GuaranteeStatus.REJECTED: "审核不通过",
    GuaranteeStatus.EXPIRED_OFFER: "报价已过期",
    GuaranteeStatus.LOCKED: "已开标锁定",
    GuaranteeStatus.RELEASED: "解保",
    GuaranteeStatus.CLAIMED: "理赔中",
    GuaranteeStatus.CLAIM_PAID: "已理赔",
    GuaranteeStatus.CLAIM_REFUSED: "拒绝理赔",
    GuaranteeStatus.SURRENDERED: "退保",
    GuaranteeStatus.EXPIRED: "已到期",
    GuaranteeStatus.CANCELLED: "注销",
}


class InstitutionKind(StrEnum):
    BANK = "bank"
    INSURER = "insurer"
    GUARANTEE_COMPANY = "guarantee_company"

    @property
    def zh(self) -> str:
        return _INSTITUTION_KIND_ZH[self]


_INSTITUTION_KIND_ZH: Final = {
    InstitutionKind.BANK: "银行",
    InstitutionKind.INSURER: "保险公司",
    InstitutionKind.GUARANTEE_COMPANY: "担保公司",
}


class DecisionMode(StrEnum):
    """How an institution decides on an application: at once from rules, or after a person's review."""

    INSTANT = "instant"
    REVIEW = "review"


class IntegrationMode(StrEnum):
    """How the gateway reaches an institution: built-in sandbox, we push to its API, or it pulls from ours."""

    SANDBOX = "sandbox"
    PUSH = "push"
    PULL = "pull"


class SurrenderReason(StrEnum):
    WITHDRAWN = "withdrawn"
    FAILED_TENDER = "failed_tender"
    POSTPONED = "postponed"
    ABANDONED = "abandoned"
    TERMINATED = "terminated"

    @property
    def zh(self) -> str:
        return _SURRENDER_REASON_ZH[self]


_SURRENDER_REASON_ZH: Final = {
    SurrenderReason.WITHDRAWN: "撤标",
    SurrenderReason.FAILED_TENDER: "流标",
    SurrenderReason.POSTPONED: "延标",
    SurrenderReason.ABANDONED: "放弃申请",
    SurrenderReason.TERMINATED: "招标终止",
}
