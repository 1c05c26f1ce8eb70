"""Institutions as data: upsert (demo seeding, test factories; an admin API later) and reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from contracts.enums import DecisionMode, InstitutionKind, IntegrationMode, Product
from gateway.broker.pricing import FlatRate, Tiered, schedule_json
from gateway.institutions.tables import Institution


@dataclass(frozen=True)
class InstitutionRecord:
    code: str
    name: str
    kind: InstitutionKind
    products: Sequence[Product]
    fee_schedule: FlatRate | Tiered
    min_amount_fen: int
    max_amount_fen: int
    centers: Sequence[str]
    decision: DecisionMode
    mode: IntegrationMode
    key_id: str
    certificate_pem: str
    platform_fee_ppm: int = 0
    record: int = 0
    active: bool = True
    push_base_url: str | None = None  # push mode only


def upsert(session: Session, record: InstitutionRecord, *, now: datetime) -> Institution:
    row = session.get(Institution, record.code)
    if row is None:
        row = Institution(code=record.code, created_at=now)
        session.add(row)
    row.name = record.name
    row.kind = record.kind.value
    row.products = json.dumps([product.value for product in record.products])
    row.fee_schedule = schedule_json(record.fee_schedule)
    row.min_amount_fen = record.min_amount_fen
    row.max_amount_fen = record.max_amount_fen
    row.centers = json.dumps(list(record.centers))
    row.decision = record.decision.value
    row.mode = record.mode.value
    row.key_id = record.key_id
    row.certificate_pem = record.certificate_pem
    row.platform_fee_ppm = record.platform_fee_ppm
    row.record = record.record
    row.active = record.active
    row.push_base_url = record.push_base_url
    session.flush()
    return row
