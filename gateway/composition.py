"""The composition root: the one place that turns settings into concrete parts (engine, clock, keys
and, as they arrive, the adapters for institutions, payments and the escrow bank). Everything else
receives what it needs from here; only this module may import `adapters`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import make_engine, make_sessionmaker, utcnow
from gateway.settings import Settings


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    token_key: bytes
    clock: Callable[[], datetime] = field(default=utcnow)

    def close(self) -> None:
        self.engine.dispose()


def build_container(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        token_key=settings.secret_token_key(),
        clock=clock,
    )
