"""The `/verify` page (reached from the letter's QR code): server-rendered, zh-CN, phone width, in the
same layout and stylesheet as the portal and the console (gateway/web/templates/verify/).

Every value is HTML-escaped by Jinja2's autoescape; the page runs no script and loads nothing from
elsewhere (only this site's stylesheet, which its Content-Security-Policy allows), so it works in any
phone browser and leaks the code in the URL to no third party. It shows the verdict and the essential
facts of the guarantee, nothing more.
"""

from __future__ import annotations

from typing import Any, Final

from gateway.verify.service import Verified
from gateway.web.pages import templates

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _render(template: str, title: str, **context: Any) -> str:
    return templates.env.get_template(f"verify/{template}").render(area=None, page_title=title, **context)


def render_form() -> str:
    return _render("ask.html", "电子保函真伪核验", no="", code="")


def render_found(found: Verified) -> str:
    return _render("found.html", f"保函 {found.guarantee_no} 核验结果", found=found)


def render_not_found(no: str, code: str) -> str:
    return _render("not_found.html", "未找到匹配的保函", no=no, code=code)


def render_rate_limited(retry_after: int) -> str:
    return _render("rate_limited.html", "请求过于频繁", retry_after=retry_after)
