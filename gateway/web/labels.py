"""Chinese words for the stored state and reason codes the pages show (the codes stay in the data).
An unknown code is shown as itself, never as nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "deposit": {
        "held": "已到账",
        "locked": "已锁定",
        "refundable": "待退还",
        "refund_pending": "退还中",
        "refunded": "已退还",
        "forfeited": "已没收",
    },
    "exception": {
        "open": "待处理",
        "assigned": "已认领",
        "returning": "退回中",
        "returned": "已退回",
    },
    "exception_reason": {
        "unknown_subaccount": "子账号无法识别",
        "after_deadline": "投标截止后到账",
        "wrong_amount": "金额与保证金不符",
        "payer_name_mismatch": "付款人不是投标人",
        "duplicate_deposit": "重复缴纳",
    },
    "instruction": {
        "created": "待发送",
        "sent": "已发送银行",
        "succeeded": "已付款",
        "failed": "失败",
    },
    "instruction_kind": {"refund": "保证金退还", "return": "原路退回"},
    "line": {"open": "未匹配", "matched": "已匹配", "written_off": "已核销"},
    "item": {"open": "未匹配", "matched": "已匹配", "written_off": "已核销"},
    "direction": {"credit": "收入", "debit": "支出"},
    "rule": {
        "reference": "按流水号",
        "amount_counterparty_date": "按金额、对方户名和日期",
        "returned": "退汇",
        "manual": "人工匹配",
        "group": "多笔合并/拆分",
    },
    "outcome": {"posted": "退款已入账", "voided": "退款已撤销", "none": "—"},
}


def label(code: str | None, kind: str) -> str:
    if code is None:
        return "—"
    return LABELS.get(kind, {}).get(code, code)


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, words) pairs for a <select>, in the table's order."""
    return list(LABELS[kind].items())
