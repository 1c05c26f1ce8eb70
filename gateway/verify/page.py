"""The `/verify` page (reached from the letter's QR code): small, server-rendered, zh-CN, phone width.

Every value is HTML-escaped at the one place it is inserted (`_e`); the page loads nothing from
elsewhere (inline style only, allowed by the page's Content-Security-Policy), so it works offline in
any phone browser and leaks the code in the URL to no third party.
"""

from __future__ import annotations

from html import escape
from typing import Final

from gateway.verify.service import Verified

_STYLE: Final = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.6 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
color:#1a1a1a;background:#f4f5f7}
main{max-width:480px;margin:0 auto;padding:16px}
h1{font-size:1.3rem;margin:8px 0 16px}
.card{background:#fff;border-radius:8px;padding:16px;margin-bottom:16px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
.verdict{font-size:1.15rem;font-weight:600;margin:0 0 12px;padding:10px 12px;border-radius:6px}
.ok{background:#e6f4ea;color:#0b5d1e;border-left:6px solid #1e7e34}
.warn{background:#fff4e5;color:#6b3d00;border-left:6px solid #b35c00}
.none{background:#fdecea;color:#7a1010;border-left:6px solid #b3261e}
dl{margin:0}
dt{font-size:.85rem;color:#555;margin-top:10px}
dd{margin:0;word-break:break-all}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
label{display:block;margin-top:10px;font-weight:600}
input{width:100%;font-size:1rem;padding:10px;margin-top:4px;border:1px solid #767676;border-radius:6px}
input:focus,button:focus{outline:3px solid #1a73e8;outline-offset:2px}
button{margin-top:16px;width:100%;font-size:1rem;padding:12px;border:0;border-radius:6px;
background:#1a56b0;color:#fff;font-weight:600}
footer{font-size:.8rem;color:#555;text-align:center}
"""

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>电子保函真伪核验</h1>\n{body}\n"
        "<footer><p>核验结果以本页显示为准。"
        "请核对保函编号、金额和有效期与纸质或 PDF 保函一致。</p></footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def _form(no: str = "", code: str = "") -> str:
    return (
        '<form class="card" method="get" action="/verify" aria-label="核验保函">\n'
        '<label for="no">保函编号</label>\n'
        f'<input id="no" name="no" value="{_e(no)}" required maxlength="64" autocomplete="off" '
        'autocapitalize="characters" spellcheck="false">\n'
        '<label for="code">验证码</label>\n'
        f'<input id="code" name="code" value="{_e(code)}" required maxlength="64" autocomplete="off" '
        'autocapitalize="characters" spellcheck="false">\n'
        '<button type="submit">核验</button>\n</form>'
    )


def _row(label: str, value: str, *, mono: bool = False) -> str:
    attribute = ' class="mono"' if mono else ""
    return f"<dt>{_e(label)}</dt><dd{attribute}>{_e(value)}</dd>"


def render_form() -> str:
    intro = '<p class="card">请输入保函上印制的保函编号和验证码，或扫描保函上的二维码。</p>'
    return _document("电子保函真伪核验", intro + "\n" + _form())


def render_found(found: Verified) -> str:
    css = "ok" if found.valid else "warn"
    verdict = "核验通过：保函真实有效" if found.valid else f"保函真实，但当前状态为：{found.status_zh}"
    items = "\n".join(
        [
            _row("保函编号", found.guarantee_no),
            _row("保函状态", found.status_zh),
            _row("保证人（出函机构）", found.institution_name),
            _row("被保证人（投标人）", found.applicant_name),
            _row("受益人（招标人）", found.beneficiary_name),
            _row("担保金额", f"{_yuan(found.amount_fen)}（人民币{found.amount_capitals}）"),
            _row("保证期间", f"{found.cover_start.isoformat()} 至 {found.cover_end.isoformat()}"),
            _row("保函文件 SM3 摘要", found.letter_sm3 or "（未存档）", mono=True),
        ]
    )
    body = (
        f'<section class="card" aria-labelledby="verdict">\n'
        f'<p id="verdict" class="verdict {css}" role="status">{_e(verdict)}</p>\n<dl>\n{items}\n</dl>\n'
        "</section>"
    )
    return _document(f"保函 {found.guarantee_no} 核验结果", body)


def render_not_found(no: str, code: str) -> str:
    body = (
        '<section class="card">\n<p class="verdict none" role="alert">未找到匹配的保函</p>\n'
        "<p>保函编号与验证码不匹配，或该保函不存在。请核对后重新输入（验证码不区分大小写）。"
        "如仍无法核验，请勿以该保函作为投标担保，并联系出函机构或交易中心。</p>\n</section>\n"
        + _form(no, code)
    )
    return _document("未找到匹配的保函", body)


def render_rate_limited(retry_after: int) -> str:
    body = (
        '<section class="card">\n<p class="verdict warn" role="alert">核验请求过于频繁</p>\n'
        f"<p>请在 {_e(retry_after)} 秒后重试。</p>\n</section>"
    )
    return _document("请求过于频繁", body)
