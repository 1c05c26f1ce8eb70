"""The letter an institution prints for a guarantee it issues: the request's terms, the guarantee's
number and issue date, and the verification code the gateway asked to print."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from contracts.institutions import GuaranteeData, IssueRequest
from signing.letter.model import LetterData

SHANGHAI = ZoneInfo("Asia/Shanghai")


def letter_for(request: IssueRequest, data: GuaranteeData, institution: str) -> LetterData:
    quote = request.quote
    return LetterData(
        guarantee_no=str(data.guarantee_no),
        product_title=quote.product.zh,
        beneficiary=request.beneficiary_name,
        applicant=quote.bidder_name,
        applicant_uscc=str(quote.bidder_uscc),
        project_name=request.project_name,
        section_name=request.section_name,
        section_code=str(quote.section_code),
        amount_fen=quote.amount_fen.fen,
        cover_start=quote.cover_start.isoformat(),
        cover_end=quote.cover_end.isoformat(),
        institution=institution,
        issue_date=data.issued_at.astimezone(SHANGHAI).date().isoformat(),
        verification_code=request.verification_code,
        verify_base_url=request.verify_base_url,
    )
