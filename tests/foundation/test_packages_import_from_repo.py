"""`adapters`, `contracts`, `ledger` and `signing` are also names on PyPI: make sure ours are imported."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "package", ["contracts", "ledger", "signing", "adapters", "adapters.banks", "gateway"]
)
def test_top_level_package_comes_from_this_repository(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(REPO), module.__file__


def test_migrations_and_openapi_folders_exist() -> None:
    assert (REPO / "migrations" / "env.py").is_file()
    assert (REPO / "openapi" / "openapi.json").is_file()
