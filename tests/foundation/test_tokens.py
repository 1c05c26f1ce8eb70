from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth.tokens import Role, TokenError, TokenExpired, issue_token, verify_token

KEY = b"k" * 32
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_round_trip() -> None:
    token = issue_token(KEY, Role.FINANCE, "SZ-GGZY", now=NOW, ttl=timedelta(hours=1))
    claims = verify_token(KEY, token, now=NOW + timedelta(minutes=59))
    assert (claims.role, claims.subject, claims.expires_at) == (
        Role.FINANCE,
        "SZ-GGZY",
        NOW + timedelta(hours=1),
    )


def test_expired() -> None:
    token = issue_token(KEY, Role.BIDDER, "X", now=NOW, ttl=timedelta(hours=1))
    with pytest.raises(TokenExpired):
        verify_token(KEY, token, now=NOW + timedelta(hours=1))


def test_other_key_or_changed_claims_are_refused() -> None:
    token = issue_token(KEY, Role.BIDDER, "X", now=NOW, ttl=timedelta(hours=1))
    with pytest.raises(TokenError, match="signature"):
        verify_token(b"other", token, now=NOW)
    prefix, _claims, mac = token.split(".")
    forged = issue_token(b"other", Role.ADMIN, "X", now=NOW, ttl=timedelta(hours=1)).split(".")[1]
    with pytest.raises(TokenError, match="signature"):
        verify_token(KEY, f"{prefix}.{forged}.{mac}", now=NOW)


def test_subject_shape_is_checked() -> None:
    with pytest.raises(TokenError):
        issue_token(KEY, Role.BIDDER, "has space", now=NOW, ttl=timedelta(hours=1))


@given(st.text(max_size=200))
def test_garbage_is_a_token_error_never_a_crash(garbage: str) -> None:
    with pytest.raises(TokenError):
        verify_token(KEY, garbage, now=NOW)


@given(st.binary(max_size=100))
def test_flipped_bytes_never_verify(noise: bytes) -> None:
    token = issue_token(KEY, Role.BIDDER, "X", now=NOW, ttl=timedelta(hours=1))
    tampered = token[:-4] + noise.hex()[:4] if noise else token[:-1] + ("A" if token[-1] != "A" else "B")
    if tampered != token:
        with pytest.raises(TokenError):
            verify_token(KEY, tampered, now=NOW)


def test_name_claim_round_trips_and_is_optional() -> None:
    named = issue_token(KEY, Role.BIDDER, "X", now=NOW, ttl=timedelta(hours=1), name=" 示范建设有限公司 ")
    assert verify_token(KEY, named, now=NOW).name == "示范建设有限公司"
    assert (
        verify_token(KEY, issue_token(KEY, Role.FINANCE, "C1", now=NOW, ttl=timedelta(hours=1)), now=NOW).name
        is None
    )
