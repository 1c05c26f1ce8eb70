"""The letter's input: a small typed model with integer fen and plain strings, nothing else.

`canonical()` is the one structured form that is signed (see signing/README.md, "Guarantee letter").
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any, Final

from signing.errors import InvalidLetterDataError

LETTER_SCHEMA: Final = "eguarantee.letter/1"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

DEFAULT_CLAIM_TERMS: Final = (
    (
        "在本保函有效期内，如投标人在投标有效期内撤销投标文件，或中标后无正当理由不与贵方订立合同、"
        "不按招标文件要求提交履约担保，贵方可向我方提出书面索赔。"
    ),
    (
        "我方在收到贵方书面索赔通知及本保函编号、验证码后七个工作日内，"
        "在保证金额内无条件支付，无须贵方出具证明或陈述理由。"
    ),
    "本保函有效期届满，或投标保证责任依法解除后，本保函自动失效。本保函适用中华人民共和国法律。",
)


@dataclass(frozen=True)
class LetterData:
    guarantee_no: str
    product_title: str  # e.g. 投标保函 (contracts.enums.Product(...).zh)
    beneficiary: str  # 受益人 (tenderee)
    applicant: str  # 被保证人 / 投标人
    applicant_uscc: str
    project_name: str
    section_name: str
    section_code: str
    amount_fen: int
    cover_start: str  # YYYY-MM-DD, Asia/Shanghai calendar date
    cover_end: str
    institution: str  # 保证人
    issue_date: str
    verification_code: str
    verify_base_url: str
    claim_terms: tuple[str, ...] = DEFAULT_CLAIM_TERMS

    def __post_init__(self) -> None:
        if isinstance(self.amount_fen, bool) or not isinstance(self.amount_fen, int) or self.amount_fen <= 0:
            raise InvalidLetterDataError("amount_fen must be a positive integer")
        for name in ("cover_start", "cover_end", "issue_date"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _DATE.match(value):
                raise InvalidLetterDataError(f"{name} must be YYYY-MM-DD")
            try:
                dt.date.fromisoformat(value)
            except ValueError as exc:
                raise InvalidLetterDataError(f"{name} is not a calendar date") from exc
        if self.cover_end < self.cover_start:
            raise InvalidLetterDataError("cover_end is before cover_start")
        for name, value in asdict(self).items():
            if name not in ("amount_fen", "claim_terms") and (
                not isinstance(value, str) or not value.strip()
            ):
                raise InvalidLetterDataError(f"{name} must be a non-empty string")
        if not all(isinstance(term, str) for term in self.claim_terms):
            raise InvalidLetterDataError("claim_terms must be strings")

    @property
    def verify_url(self) -> str:
        query = urllib.parse.urlencode({"no": self.guarantee_no, "code": self.verification_code})
        return f"{self.verify_base_url.rstrip('/')}/verify?{query}"

    def canonical(self) -> dict[str, Any]:
        """Plain JSON-able value with integers and strings only (input to canonical_json)."""
        value = asdict(self)
        value["claim_terms"] = list(self.claim_terms)
        value["schema"] = LETTER_SCHEMA
        return value

    @classmethod
    def from_canonical(cls, value: Any) -> LetterData:
        if not isinstance(value, dict) or value.get("schema") != LETTER_SCHEMA:
            raise InvalidLetterDataError(f"not a {LETTER_SCHEMA} object")
        fields = {key: item for key, item in value.items() if key != "schema"}
        if isinstance(fields.get("claim_terms"), list):
            fields["claim_terms"] = tuple(fields["claim_terms"])
        try:
            return cls(**fields)
        except TypeError as exc:
            raise InvalidLetterDataError(f"letter data fields do not match: {exc}") from exc


def yuan_figures(amount_fen: int) -> str:
    """¥1,234,567.89 — exact, from integer fen."""
    return f"¥{amount_fen // 100:,}.{amount_fen % 100:02d}"


def chinese_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"
