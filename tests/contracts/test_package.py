from __future__ import annotations

import ast
import sys
from pathlib import Path

import contracts

PACKAGE_DIR = Path(contracts.__file__).parent
ALLOWED_ROOTS = {"pydantic", "pydantic_core", "contracts", "__future__"}


def test_every_exported_name_exists() -> None:
    assert all(hasattr(contracts, name) for name in contracts.__all__)
    assert len(set(contracts.__all__)) == len(contracts.__all__)


def test_every_error_is_a_value_error_with_its_own_code() -> None:
    errors = [
        contracts.MoneyError,
        contracts.UsccError,
        contracts.SectionCodeError,
        contracts.GuaranteeNoError,
    ]
    assert all(issubclass(error, ValueError) for error in errors)
    assert len({error.code for error in errors}) == len(errors)


def test_contracts_imports_only_pydantic_and_the_standard_library() -> None:
    # architecture.md: contracts is the bottom layer; import-linter checks the same in CI.
    for module in PACKAGE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            outside = roots - ALLOWED_ROOTS - sys.stdlib_module_names
            assert not outside, f"{module.name} imports {outside}"
