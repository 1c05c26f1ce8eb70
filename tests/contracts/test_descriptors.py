from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.descriptors import BidderDescriptor, InstitutionDescriptor, SectionDescriptor
from contracts.enums import DecisionMode, InstitutionKind, IntegrationMode, Product
from contracts.money import Money
from contracts.uscc import Uscc, make_uscc

SHANGHAI = timezone(timedelta(hours=8))
TENDEREE_USCC = make_uscc("12440000455858000")


def section_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "code": "JS-2024-001.01",
        "project_code": "苏建招〔2024〕12号",
        "project_name": "某道路改造工程",
        "name": "施工一标段",
        "center_code": "js-center",
        "tenderee_name": "某市城建中心",
        "tenderee_uscc": str(TENDEREE_USCC),
        "deposit_fen": 8_000_000,
        "bid_deadline_at": "2024-06-01T09:30:00+08:00",
        "bid_opening_at": "2024-06-01T09:30:00+08:00",
        "bid_validity_days": 90,
    }
    fields.update(changes)
    return fields


def test_section_reads_wire_json_and_keeps_times_in_utc() -> None:
    section = SectionDescriptor.model_validate_json(json.dumps(section_fields()))
    assert section.deposit_fen == Money(8_000_000)
    assert isinstance(section.tenderee_uscc, Uscc)
    assert section.bid_opening_at == datetime(2024, 6, 1, 1, 30, tzinfo=UTC)
    assert section.bid_opening_at.utcoffset() == timedelta(0)


def test_section_json_round_trip_uses_fen_and_offsets() -> None:
    section = SectionDescriptor.model_validate(section_fields())
    dumped = json.loads(section.model_dump_json())
    assert dumped["deposit_fen"] == 8_000_000
    assert dumped["bid_deadline_at"] == "2024-06-01T01:30:00Z"
    assert SectionDescriptor.model_validate_json(section.model_dump_json()) == section


def test_section_accepts_aware_datetime_objects_in_any_zone() -> None:
    opening = datetime(2024, 6, 1, 9, 30, tzinfo=SHANGHAI)
    section = SectionDescriptor.model_validate(
        section_fields(bid_deadline_at=opening, bid_opening_at=opening + timedelta(hours=1))
    )
    assert section.bid_deadline_at.tzinfo is UTC
    assert section.bid_opening_at - section.bid_deadline_at == timedelta(hours=1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bid_deadline_at": "2024-06-01T09:30:00"}, "bid_deadline_at"),  # naive
        ({"bid_opening_at": datetime(2024, 6, 1, 9, 30)}, "bid_opening_at"),  # noqa: DTZ001 naive on purpose
        ({"bid_opening_at": 1717205400}, "bid_opening_at"),  # unix time has no stated offset
        ({"bid_opening_at": "1717205400"}, "bid_opening_at"),
        ({"bid_opening_at": None}, "bid_opening_at"),
        ({"bid_opening_at": "2024-06-01"}, "bid_opening_at"),
        ({"deposit_fen": 0}, "deposit_fen"),
        ({"deposit_fen": -1}, "deposit_fen"),
        ({"deposit_fen": 80000.0}, "deposit_fen"),
        ({"deposit_fen": "80000"}, "deposit_fen"),
        ({"bid_validity_days": 0}, "bid_validity_days"),
        ({"bid_validity_days": True}, "bid_validity_days"),
        ({"bid_validity_days": "90"}, "bid_validity_days"),
        ({"tenderee_uscc": "91350100M000100Y44"}, "tenderee_uscc"),
        ({"code": "标段 1"}, "code"),
        ({"center_code": "js center"}, "center_code"),
        ({"name": "   "}, "name"),
        ({"project_code": ""}, "project_code"),
        ({"tenderee_name": "x" * 201}, "tenderee_name"),
        ({"deposit": 8_000_000}, "deposit"),  # unknown field: extra="forbid"
    ],
)
def test_section_refuses_bad_fields(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SectionDescriptor.model_validate(section_fields(**changes))
    assert field in {error["loc"][0] for error in caught.value.errors()}


def test_section_refuses_opening_before_deadline() -> None:
    with pytest.raises(ValidationError, match="bid_opening_at is before bid_deadline_at"):
        SectionDescriptor.model_validate(
            section_fields(
                bid_deadline_at="2024-06-01T09:30:00+08:00",
                # One minute before the deadline, written in another offset.
                bid_opening_at="2024-06-01T01:29:00Z",
            )
        )


def test_section_compares_instants_not_wall_clocks() -> None:
    section = SectionDescriptor.model_validate(
        section_fields(bid_deadline_at="2024-06-01T09:30:00+08:00", bid_opening_at="2024-06-01T01:30:00Z")
    )
    assert section.bid_opening_at == section.bid_deadline_at


def test_descriptors_are_frozen_and_hashable() -> None:
    section = SectionDescriptor.model_validate(section_fields())
    with pytest.raises(ValidationError):
        section.bid_validity_days = 28  # type: ignore[misc]
    assert hash(section) == hash(SectionDescriptor.model_validate(section_fields()))


def test_bidder_contact_is_optional_and_trimmed() -> None:
    bidder = BidderDescriptor.model_validate({"uscc": " 91350100m000100y43", "name": " 某建设有限公司 "})
    assert bidder.uscc == "91350100M000100Y43"
    assert bidder.name == "某建设有限公司"
    assert bidder.contact is None
    with_contact = BidderDescriptor(uscc=bidder.uscc, name="某建设有限公司", contact="张三 13800000000")
    assert with_contact.contact == "张三 13800000000"
    with pytest.raises(ValidationError):
        BidderDescriptor.model_validate({"uscc": bidder.uscc, "name": "某", "contact": ""})


def test_institution_reads_enums_and_products_tuple() -> None:
    institution = InstitutionDescriptor.model_validate_json(
        json.dumps(
            {
                "code": "sandbox-bank",
                "name": "沙箱银行",
                "kind": "bank",
                "products": ["bid", "performance"],
                "decision": "instant",
                "mode": "sandbox",
            }
        )
    )
    assert institution.kind is InstitutionKind.BANK
    assert institution.products == (Product.BID, Product.PERFORMANCE)
    assert institution.decision is DecisionMode.INSTANT
    assert institution.mode is IntegrationMode.SANDBOX


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"products": []}, "products"),
        ({"products": ["bid", "bid"]}, "products"),
        ({"products": ["loan"]}, "products"),
        ({"kind": "broker"}, "kind"),
        ({"mode": "email"}, "mode"),
        ({"code": "a/b"}, "code"),
    ],
)
def test_institution_refuses_bad_fields(changes: dict[str, Any], field: str) -> None:
    fields: dict[str, Any] = {
        "code": "sandbox-bank",
        "name": "沙箱银行",
        "kind": "bank",
        "products": ["bid"],
        "decision": "review",
        "mode": "push",
    }
    fields.update(changes)
    with pytest.raises(ValidationError) as caught:
        InstitutionDescriptor.model_validate(fields)
    assert field in {error["loc"][0] for error in caught.value.errors()}
