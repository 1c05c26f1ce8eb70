"""Outbox use cases (never commit; the caller's transaction decides).

- `emit`: an event in the business transaction, with its audience and one delivery row per matching
  active webhook subscription. Routing is decided here, at emit time: the subscribers at the moment of
  the change get it, a subscription made later does not (the events API serves the history).
- `subscribe` / `unsubscribe`: a party's webhooks.
- `redeliver` / `redeliver_dead`: put deliveries back to pending with a fresh retry cycle.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, Final, cast
from urllib.parse import urlsplit

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    any_,
    bindparam,
    insert,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from gateway.audit import service as audit
from gateway.db import utcnow
from gateway.errors import Conflict, GatewayError, NotFound
from gateway.outbox.tables import OutboxDelivery, OutboxEvent, WebhookSubscription
from gateway.sections.tables import Section
from signing.canonical import canonical_json

PENDING: Final = "pending"
DELIVERING: Final = "delivering"
DELIVERED: Final = "delivered"
DEAD: Final = "dead"
STATUSES: Final = (PENDING, DELIVERING, DELIVERED, DEAD)
PARTY_KINDS: Final = ("center", "institution", "bank")

# The events of the "Center integration" issue; subscribers may name these or patterns over them.
EVENT_TYPES: Final = (
    "guarantee.issued",
    "guarantee.extended",
    "guarantee.surrendered",
    "guarantee.released",
    "guarantee.claimed",
    "claim.decided",
    "deposit.received",
    "deposit.refunded",
)


class EventNotFound(NotFound):
    code = "event_not_found"
    title = "No such event"


class NoWebhookSubscription(Conflict):
    code = "no_webhook_subscription"
    title = "No webhook delivery to redeliver"


class InvalidSubscription(GatewayError):
    code = "invalid_subscription"
    title = "Invalid webhook subscription"


def emit(
    session: Session,
    type: str,  # noqa: A002
    data: Mapping[str, Any],
    *,
    center: str | None = None,
    institution: str | None = None,
    bank: str | None = None,
) -> OutboxEvent:
    """Write an event in the caller's transaction. The audience defaults to `data`'s `center_code`
    (or the center of its `section_code`), `institution_code` and `bank_code`."""
    center = center or _text(data.get("center_code")) or _center_of(session, _text(data.get("section_code")))
    institution = institution or _text(data.get("institution_code"))
    bank = bank or _text(data.get("bank_code"))
    return emit_many(session, type, [(data, Audience(center, institution, bank))])[0]


@dataclass(frozen=True)
class Audience:
    center: str | None = None
    institution: str | None = None
    bank: str | None = None

    def parties(self) -> list[tuple[str, str]]:
        codes = (self.center, self.institution, self.bank)
        return [(kind, code) for kind, code in zip(PARTY_KINDS, codes, strict=True) if code]


def emit_many(
    session: Session,
    type: str,  # noqa: A002
    events: Sequence[tuple[Mapping[str, Any], Audience]],
) -> list[OutboxEvent]:
    """Write several events of one type, each with its own audience (see `emit_all`)."""
    return emit_all(session, [(type, data, audience) for data, audience in events])


Rows = tuple[Table, list[dict[str, Any]]]  # rows for one table, all with the same columns


def emit_all(
    session: Session,
    events: Sequence[tuple[str, Mapping[str, Any], Audience]],
    *,
    alongside: Sequence[Rows] = (),
) -> list[OutboxEvent]:
    """Write events of any types, each with its own audience, in the caller's transaction: one INSERT
    for the events and one for their deliveries, through Core (the rows are not session objects; the
    returned `OutboxEvent`s carry what was written, ids included).

    The audience's subscriptions are read once per transaction. On PostgreSQL that read rides on the
    events' INSERT (one statement: the INSERT as a CTE, joined to the subscriptions), so a use case's
    first emit costs one round trip, not two; SQLite reads them first. `alongside`: other rows the
    use case writes now (its audit records), INSERTed first, or on PostgreSQL as more CTEs of that
    same statement."""
    alongside = [(table, rows) for table, rows in alongside if rows]
    if not events:
        _insert_alongside(session.connection(), alongside)
        return []
    now = utcnow()
    rows = [
        {
            "event_id": f"evt_{uuid.uuid4().hex}",
            "type": type_,
            "data": canonical_json(dict(data)).decode(),
            "created_at": now,
            "attempts": 0,
            "delivered_at": None,
            "center_code": audience.center,
            "institution_code": audience.institution,
            "bank_code": audience.bank,
        }
        for type_, data, audience in events
    ]
    # The audience's subscriptions, read at most once per party per transaction.
    subscriptions = _known_subscriptions(session)
    parties = {party for _, _, audience in events for party in audience.parties()}
    missing = parties - subscriptions.keys()
    connection = session.connection()
    ids: list[int | None] | None = None
    combined = len(rows) + sum(len(extra) for _, extra in alongside) <= _COMBINED_UP_TO
    if missing and combined and session.get_bind().dialect.name == "postgresql":
        ids = _insert_reading_subscriptions(connection, rows, subscriptions, missing, alongside)
    else:
        _insert_alongside(connection, alongside)
        if missing:
            # Through the connection (no autoflush): `subscribe` flushes its new row itself.
            codes = _SUBSCRIPTIONS.c.party_code.in_(_codes(missing))
            _learn(subscriptions, missing, connection.execute(_subscriptions_where(codes)))
    targets = [
        [
            sub_id
            for party in audience.parties()
            for sub_id, types in subscriptions.get(party, ())
            if wants(types, type_)
        ]
        for type_, _, audience in events
    ]
    if ids is None:
        ids = _insert_events(connection, rows, need_ids=any(targets))
    if any(targets):
        connection.execute(
            insert(_DELIVERIES),
            [
                {
                    "outbox_id": event_id,
                    "subscription_id": sub_id,
                    "status": PENDING,
                    "attempts": 0,
                    "started_at": now,
                    "next_attempt_at": now,
                }
                for event_id, subs in zip(ids, targets, strict=True)
                for sub_id in subs
            ],
        )
    return [OutboxEvent(id=event_id, **row) for event_id, row in zip(ids, rows, strict=True)]


def _insert_events(connection: Connection, rows: list[dict[str, Any]], *, need_ids: bool) -> list[int | None]:
    """INSERT the events; their ids only when deliveries will refer to them (or cheaply known)."""
    if need_ids:
        returning = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)
        return list(connection.execute(returning, rows).scalars())
    if len(rows) == 1:
        key = connection.execute(insert(_EVENTS), rows[0]).inserted_primary_key
        return [key[0] if key else None]
    connection.execute(insert(_EVENTS), rows)
    return [None] * len(rows)


def wants(event_types: str, type: str) -> bool:  # noqa: A002
    return any(fnmatchcase(type, pattern) for pattern in event_types.split())


def subscribe(
    session: Session,
    *,
    party_kind: str,
    party_code: str,
    url: str,
    event_types: Iterable[str] = ("*",),
    now: datetime,
    actor: str,
) -> WebhookSubscription:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidSubscription("the webhook URL must be http(s)://host/...")
    if party_kind not in PARTY_KINDS:
        raise InvalidSubscription(f"party kind must be one of {', '.join(PARTY_KINDS)}")
    types = " ".join(event_types)
    if not types or len(url) > 500:
        raise InvalidSubscription("name at least one event type and a URL of at most 500 characters")
    subscription = WebhookSubscription(
        id=f"whs_{uuid.uuid4().hex[:24]}",
        party_kind=party_kind,
        party_code=party_code,
        url=url,
        event_types=types,
        active=True,
        created_at=now,
    )
    session.add(subscription)
    session.flush()  # emits read subscriptions through the connection, without autoflush
    _forget_subscriptions(session)
    audit.append(
        session,
        actor=actor,
        action="webhook.subscribed",
        object_type="webhook_subscription",
        object_id=subscription.id,
        after={"party": f"{party_kind}:{party_code}", "url": url, "event_types": types},
        at=now,
    )
    return subscription


def redeliver(
    session: Session, event_id: str, *, now: datetime, actor: str, party: tuple[str, str] | None = None
) -> list[OutboxDelivery]:
    """Every delivery of the event (to `party`'s subscriptions only, when given) back to pending with a
    fresh retry cycle, delivered ones included (the receiver asked again). A delivery in flight under
    a live lease is left to finish."""
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.event_id == event_id)).first()
    if event is None or (party is not None and not _concerns(event, party)):
        raise EventNotFound(f"no event {event_id}")
    query = (
        select(OutboxDelivery)
        .join(WebhookSubscription)
        .where(OutboxDelivery.outbox_id == event.id)
        .order_by(OutboxDelivery.id)
        .with_for_update(of=OutboxDelivery)
    )
    if party is not None:
        query = query.where(
            WebhookSubscription.party_kind == party[0], WebhookSubscription.party_code == party[1]
        )
    deliveries = list(session.scalars(query))
    if not deliveries:
        raise NoWebhookSubscription(f"event {event_id} has no webhook delivery to redeliver")
    for delivery in deliveries:
        if not (delivery.status == DELIVERING and delivery.lease_until and delivery.lease_until > now):
            _restart(delivery, now)
    event.delivered_at = None
    audit.append(
        session,
        actor=actor,
        action="outbox.redelivered",
        object_type="outbox_event",
        object_id=event_id,
        after={"deliveries": [d.id for d in deliveries]},
        at=now,
    )
    return deliveries


def redeliver_dead(session: Session, *, now: datetime, actor: str) -> int:
    dead = list(
        session.scalars(select(OutboxDelivery).where(OutboxDelivery.status == DEAD).with_for_update())
    )
    for delivery in dead:
        _restart(delivery, now)
    if dead:
        audit.append(
            session,
            actor=actor,
            action="outbox.redelivered_dead",
            object_type="outbox",
            object_id="dead",
            after={"deliveries": len(dead)},
            at=now,
        )
    return len(dead)


def _restart(delivery: OutboxDelivery, now: datetime) -> None:
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.started_at = now
    delivery.next_attempt_at = now
    delivery.last_error = None
    delivery.locked_by = None
    delivery.lease_until = None
    delivery.delivered_at = None


def audience_column(kind: str) -> Any:
    """The outbox column naming a party of this kind."""
    return {
        "center": OutboxEvent.center_code,
        "institution": OutboxEvent.institution_code,
        "bank": OutboxEvent.bank_code,
    }[kind]


def _concerns(event: OutboxEvent, party: tuple[str, str]) -> bool:
    kind, code = party
    return kind in PARTY_KINDS and getattr(event, f"{kind}_code") == code


_EVENTS: Final = cast(Table, OutboxEvent.__table__)
_DELIVERIES: Final = cast(Table, OutboxDelivery.__table__)
_SUBSCRIPTIONS: Final = cast(Table, WebhookSubscription.__table__)
_SUBSCRIPTIONS_KEY = "gateway.outbox.subscriptions"  # session.info: (transaction, {party: [(id, types)]})


Subscriptions = dict[tuple[str, str], list[tuple[str, str]]]  # party -> [(subscription id, types)]


def _known_subscriptions(session: Session) -> Subscriptions:
    """This transaction's cache of the parties' subscriptions (`subscribe` drops it)."""
    # The innermost transaction: a savepoint rolled back with a new subscription in it leaves no trace.
    transaction = session.get_nested_transaction() or session.get_transaction()
    cached = session.info.get(_SUBSCRIPTIONS_KEY)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[_SUBSCRIPTIONS_KEY] = cached
    known: Subscriptions = cached[1]
    return known


def _codes(parties: set[tuple[str, str]]) -> list[str]:
    return sorted({code for _, code in parties})


def _subscriptions_where(party_code_matches: ColumnElement[bool]) -> Select[Any]:
    """The active subscriptions whose party code matches, as (id, kind, code, event types)."""
    columns = _SUBSCRIPTIONS.c
    return select(columns.id, columns.party_kind, columns.party_code, columns.event_types).where(
        columns.active.is_(True), party_code_matches
    )


def _learn(known: Subscriptions, missing: set[tuple[str, str]], found: Iterable[Any]) -> None:
    """Cache what was read for the missing parties (each subscription once, however often it came)."""
    for party in missing:
        known[party] = []
    seen: set[str] = set()
    for sub_id, kind, code, types in found:
        if sub_id is not None and sub_id not in seen and (kind, code) in missing:
            seen.add(sub_id)
            known[(kind, code)].append((sub_id, types))


def _insert_alongside(connection: Connection, alongside: Sequence[Rows]) -> None:
    for table, rows in alongside:
        connection.execute(insert(table), rows)


def _insert_reading_subscriptions(
    connection: Connection,
    rows: list[dict[str, Any]],
    known: Subscriptions,
    missing: set[tuple[str, str]],
    alongside: Sequence[Rows],
) -> list[int | None]:
    """PostgreSQL: INSERT the events (and the rows `alongside`) and read the `missing` parties'
    subscriptions into `known`, in one statement; returns the events' ids. Each INSERT is a
    data-modifying CTE (run once, to completion, whatever the outer query reads); each event comes
    back joined to every subscription read (or to NULLs)."""
    parameters = {f"{name}_{n}": value for n, row in enumerate(rows) for name, value in row.items()}
    for k, (_, extra) in enumerate(alongside):
        for n, row in enumerate(extra):
            parameters.update({f"a{k}_{name}_{n}": value for name, value in row.items()})
    parameters["party_codes"] = _codes(missing)
    shape = tuple((table, len(extra), tuple(extra[0])) for table, extra in alongside)
    result = connection.execute(_insert_reading_statement(len(rows), shape), parameters).all()
    ids = {event_id: outbox_id for outbox_id, event_id, *_ in result}
    _learn(known, missing, (found for _, _, *found in result))
    return [ids[row["event_id"]] for row in rows]


# A use case emits one to a few events; a bulk emit (locking a section's orders at bid opening) stays
# an executemany after one read: one statement per count, and PostgreSQL's 65,535-parameter limit.
_COMBINED_UP_TO: Final = 8


@functools.lru_cache(maxsize=32)
def _insert_reading_statement(
    count: int, alongside: tuple[tuple[Table, int, tuple[str, ...]], ...]
) -> Select[Any]:
    """The statement for `count` events and the `alongside` rows (table, how many, their columns),
    built once per shape: its parameters are `<column>_<n>` per event, `a<k>_<column>_<n>` per row
    alongside and the parties' codes as one array (so the text, and PostgreSQL's prepared plan, stay
    the same). One single-row INSERT CTE per row: SQLAlchemy does not cache the compiled form of a
    multi-row VALUES, and compiling it on every call cost more than the round trip saved."""
    columns = [column.name for column in _EVENTS.c if column.name != "id"]
    written = [
        insert(_EVENTS)
        .values({name: bindparam(f"{name}_{n}", type_=_EVENTS.c[name].type) for name in columns})
        .returning(_EVENTS.c.id, _EVENTS.c.event_id)
        .cte(f"written_{n}")
        for n in range(count)
    ]
    also = [
        insert(table)
        .values({name: bindparam(f"a{k}_{name}_{n}", type_=table.c[name].type) for name in names})
        .cte(f"also_{k}_{n}")
        for k, (table, rows, names) in enumerate(alongside)
        for n in range(rows)
    ]
    events = union_all(*(select(cte.c.id, cte.c.event_id) for cte in written)).subquery("events")
    codes = _SUBSCRIPTIONS.c.party_code == any_(bindparam("party_codes", type_=ARRAY(String())))
    subscriptions = _subscriptions_where(codes).subquery("subscriptions")
    query = select(events.c.id, events.c.event_id, *subscriptions.c).select_from(
        events.outerjoin(subscriptions, true())
    )
    # The rows alongside are read by nothing: add_cte makes them part of the statement all the same.
    return query.add_cte(*also) if also else query


def _forget_subscriptions(session: Session) -> None:
    session.info.pop(_SUBSCRIPTIONS_KEY, None)


def _center_of(session: Session, section_code: str | None) -> str | None:
    if section_code is None:
        return None
    return session.scalar(select(Section.center_code).where(Section.code == section_code))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
