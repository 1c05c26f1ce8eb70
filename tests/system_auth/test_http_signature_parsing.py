from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing.http_signature import MalformedAuthorizationError, parse_authorization, sign_request
from signing.sm2 import Sm2PrivateKey

KEY = Sm2PrivateKey.generate()


@given(st.text(max_size=300))
def test_any_text_parses_or_is_a_typed_error(text: str) -> None:
    # The one error allowed; any other exception fails the test.
    with contextlib.suppress(MalformedAuthorizationError):
        parse_authorization(text)


@given(st.integers(min_value=0, max_value=len(sign_request(KEY, "k1", "GET", "/", b"", timestamp=1))))
def test_truncated_headers_are_refused(cut: int) -> None:
    header = sign_request(KEY, "k1", "GET", "/", b"", timestamp=1)
    if cut == len(header):
        assert parse_authorization(header).key_id == "k1"
    else:
        with pytest.raises(MalformedAuthorizationError):
            parse_authorization(header[:cut])


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer x", "scheme must be GW-SM2-SM3"),
        ('GW-SM2-SM3 key_id="a",timestamp="1",nonce="0123456789abcdef"', "missing parameter(s): signature"),
        ('GW-SM2-SM3 key_id="a",key_id="b",timestamp="1",nonce="0123456789abcdef",signature="AA=="', "twice"),
        ('GW-SM2-SM3 key_id="a",timestamp="-1",nonce="0123456789abcdef",signature="AA=="', "unix seconds"),
        ('GW-SM2-SM3 key_id="a",timestamp="1",nonce="short",signature="AA=="', "nonce"),
        ('GW-SM2-SM3 key_id="a b",timestamp="1",nonce="0123456789abcdef",signature="AA=="', "key_id"),
        ('GW-SM2-SM3 key_id="a",timestamp="1",nonce="0123456789abcdef",signature="*"', "base64"),
    ],
)
def test_each_malformation_is_named(header: str, message: str) -> None:
    with pytest.raises(MalformedAuthorizationError) as info:
        parse_authorization(header)
    assert message in str(info.value)
