"""The published OpenAPI document, rendered deterministically (sorted keys, stable operation ids)."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.app import create_app
from gateway.auth.middleware import GatewaySigner
from gateway.composition import Container
from gateway.db import make_engine, make_sessionmaker
from gateway.settings import load_settings
from signing.sm2 import Sm2PrivateKey

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def render_openapi() -> str:
    # The spec does not depend on the database or keys; an in-memory container keeps this side-effect free.
    engine = make_engine("sqlite://")
    container = Container(
        settings=load_settings(),
        engine=engine,
        sessions=make_sessionmaker(engine),
        token_key=b"openapi-rendering-only",
        signer=GatewaySigner("openapi-rendering-only", Sm2PrivateKey.generate()),
    )
    try:
        spec = create_app(container).openapi()
    finally:
        engine.dispose()
    return json.dumps(spec, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
