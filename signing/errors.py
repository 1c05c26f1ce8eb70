"""Typed errors of the signing library. Each has a stable `code`; callers map codes to their own
world (CLI exit 2, problem+json) — this library knows nothing of HTTP."""

from __future__ import annotations

from typing import ClassVar


class SigningError(ValueError):
    """Base of every error this library raises on bad input or an unusable setup."""

    code: ClassVar[str] = "signing_error"


class MalformedPemError(SigningError):
    code = "malformed_pem"


class WrongCurveError(SigningError):
    code = "wrong_curve"


class InvalidKeyError(SigningError):
    """Structurally fine but mathematically wrong: a point off the curve, a scalar out of range."""

    code = "invalid_key"


class MalformedSignatureError(SigningError):
    code = "malformed_signature"


class BadBase64Error(SigningError):
    code = "bad_base64"


class MalformedCertificateError(SigningError):
    code = "malformed_certificate"


class DecryptionFailedError(SigningError):
    """Wrong key, wrong associated data, or a ciphertext/tag that was changed."""

    code = "decryption_failed"


class NotAPdfError(SigningError):
    code = "not_a_pdf"


class FontUnavailableError(SigningError):
    code = "font_unavailable"


class InvalidLetterDataError(SigningError):
    code = "invalid_letter_data"
