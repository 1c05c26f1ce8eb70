"""The guarantee letter: render (reportlab), bind (SM2 + SM3), PAdES-sign (pyHanko), verify offline."""

from signing.letter.for_guarantee import letter_for
from signing.letter.issue import IssuedLetter, LetterSigner, issue_letter, signed_payload
from signing.letter.model import LetterData
from signing.letter.render import render_letter
from signing.letter.verify import Check, LetterVerification, verify_letter

__all__ = [
    "Check",
    "IssuedLetter",
    "LetterData",
    "LetterSigner",
    "LetterVerification",
    "issue_letter",
    "letter_for",
    "render_letter",
    "signed_payload",
    "verify_letter",
]
