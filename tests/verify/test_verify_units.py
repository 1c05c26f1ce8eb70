"""The token bucket and the page renderer, without a server."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.enums import GuaranteeStatus
from gateway.verify import page
from gateway.verify.ratelimit import TokenBucketLimiter
from gateway.verify.service import Verified, public_status


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    ticks = Ticks()
    limiter = TokenBucketLimiter(per_minute=6, burst=2, monotonic=ticks)  # one token per 10 s
    assert [limiter.take("a"), limiter.take("a")] == [0, 0]
    assert limiter.take("a") == 10
    ticks.now += 4
    assert limiter.take("a") == 6
    ticks.now += 6
    assert limiter.take("a") == 0
    assert limiter.take("b") == 0  # every address has its own bucket
    ticks.now += 3600
    assert [limiter.take("a"), limiter.take("a"), limiter.take("a")] == [0, 0, 10]  # capped at the burst


def test_the_table_of_addresses_is_bounded() -> None:
    limiter = TokenBucketLimiter(per_minute=1, burst=1, max_clients=2, monotonic=Ticks())
    assert limiter.take("a") == 0
    assert limiter.take("a") > 0
    limiter.take("b")
    limiter.take("c")  # forgets "a", the least recently seen
    assert len(limiter._buckets) == 2
    assert limiter.take("a") == 0


@pytest.mark.parametrize("value", [0, -1])
def test_limits_must_be_positive(value: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TokenBucketLimiter(per_minute=value, burst=1)


def test_every_value_on_the_page_is_escaped() -> None:
    found = Verified(
        guarantee_no="BK-1",
        institution_name="<script>alert(1)</script>",
        applicant_name='"><img src=x onerror=alert(1)>',
        beneficiary_name="A & B",
        amount_fen=100,
        amount_capitals="壹元整",
        cover_start=date(2026, 1, 1),
        cover_end=date(2026, 2, 1),
        status="valid",
        letter_sm3=None,
    )
    html = page.render_found(found)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    assert "A &amp; B" in html
    assert "¥1.00（人民币壹元整）" in html
    assert "<img" not in page.render_not_found('"><img src=x>', "x")


def test_public_status_words() -> None:
    end = date(2026, 12, 24)
    assert public_status(GuaranteeStatus.LOCKED, end, today=end) == "valid"
    assert public_status(GuaranteeStatus.ISSUED, end, today=date(2026, 12, 25)) == "expired"
    assert public_status(GuaranteeStatus.RELEASED, end, today=end) == "released"
    assert public_status(GuaranteeStatus.CLAIMED, end, today=end) == "claimed"
