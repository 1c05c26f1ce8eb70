"""Readable Chinese messages for the API's stable problem codes: the pages show these, never a stack
trace or an English title. A code without an entry falls back to a generic sentence plus the code, so a
new code is never shown as nothing."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, str]] = {
    "invalid_uscc": "统一社会信用代码无效。",
    "bidder_name_required": "登录凭证中缺少投标人名称，无法出具保函，请联系交易中心重新获取凭证。",
    "section_not_found": "没有找到该标段，或该标段已不再接受投标。",
    "section_closed": "该标段已截止投标，不能再申请保函。",
    "product_not_offered": "该标段不提供所选的保函产品。",
    "application_exists": "您在该标段已有一笔进行中的保函申请，不能重复申请。",
    "application_not_found": "没有找到该订单。",
    "guarantee_not_found": "没有找到该保函。",
    "offer_not_found": "没有找到该报价。",
    "offer_expired": "该报价已过期，请重新申请或选择其他报价。",
    "already_paid": "保费已经支付，无需重复支付。",
    "payment_in_progress": "支付正在处理中，请稍后刷新页面查看结果。",
    "payment_failed": "支付未成功，没有扣款，请稍后重试。",
    "unsupported_payment_method": "不支持所选的支付方式。",
    "invalid_transition": "订单当前状态不允许此操作。",
    "guarantee_locked": "保函已在开标时核验锁定，不能退保。",
    "surrender_not_allowed": "当前不符合退保条件。",
    "letter_not_available": "保函文件暂不可下载。",
    "institution_unavailable": "金融机构暂时无法响应，请稍后重试。",
    "institution_signature_invalid": "金融机构的签名未通过验证，保函未予出具。",
    "validation_error": "提交的内容不完整或格式不正确。",
    "csrf_failed": "页面已过期或来源不明，请重新提交。",
    "invalid_token": "登录凭证无效，请重新登录。",
    "token_expired": "登录凭证已过期，请重新登录。",
    "wrong_role": "该凭证不是投标人凭证，请使用投标人登录凭证。",
    "wrong_role_finance": "该凭证不是财务凭证，请使用交易中心财务人员的登录凭证。",
    "signed_out": "您已退出登录。",
    "not_found": "页面不存在。",
    "request_in_progress": "上一次提交仍在处理中，请稍后刷新页面查看结果。",
    # Cash deposits and refunds (gateway.deposits).
    "escrow_account_not_configured": "交易中心尚未配置保证金专户，暂不能缴纳现金保证金，请联系交易中心。",
    "deposit_not_found": "没有找到该保证金。",
    "deposit_exception_not_found": "没有找到该异常款项。",
    "refund_batch_not_found": "没有找到该退款批次。",
    "instruction_not_found": "没有找到该付款指令。",
    "wrong_state": "当前状态不允许此操作（可能已有人处理），请查看最新状态。",
    "nothing_to_refund": "没有可退还的保证金（所选保证金可能已在其他批次中退还）。",
    "escrow_short_of_funds": "保证金专户的利息资金不足，请先登记银行结息，再创建退款批次。",
    "instruction_already_settled": "该付款指令已有相反的结果。",
    # Statements and reconciliation (gateway.reconciliation).
    "statement_parse_error": "对账单无法解析，未做任何更改。请确认文件格式与所选格式一致",
    "unknown_statement_format": "不支持该对账单格式，请选择 CSV、camt.053 或 MT940。",
    "resolution_refused": "无法这样匹配：所选流水与账簿记录的金额不一致，或其中有已处理的记录。",
    "statement_line_not_found": "没有找到该对账单流水（可能已被处理）。",
    "ledger_item_not_found": "没有找到该账簿记录（可能已被处理）。",
    "run_not_found": "没有找到该对账记录。",
}


def message_for(code: str) -> str:
    return MESSAGES.get(code, f"操作未能完成（错误代码：{code}）。")
