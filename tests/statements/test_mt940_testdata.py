"""Differential test: every MT940 file in shared/testdata against the independent parser's results.

Each `.sta` has a `.yml` beside it written by the open-source `mt940` package. Well-formed files must
give the same amounts, signs, dates, currencies and references; the files we refuse (README.md in
adapters/statements says why for each) must fail with `StatementParseError` at the named place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.statements import mt940
from contracts.statements import StatementParseError, currency_exponent

# shared/ stands beside the repository (CI clones it there); GATEWAY_SHARED_DIR points elsewhere.
SHARED = Path(os.environ.get("GATEWAY_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
TESTDATA = SHARED / "testdata" / "statements" / "mt940"
FILES = sorted(TESTDATA.rglob("*.sta"))

# file -> (location, words the message must contain): the decisions table in adapters/statements/README.md
REFUSED: dict[str, tuple[str, str]] = {
    "betterplace/amount_formats.sta": ("line 1", ":60F: outside a statement"),
    "betterplace/currency_in_25.sta": ("line 1", ":25: outside a statement"),
    "betterplace/empty_86.sta": ("line 1", ":86: outside a statement"),
    "betterplace/empty_entry_date.sta": ("line 1", ":61: outside a statement"),
    "betterplace/empty_line.sta": ("line 2", "no :25: account identification"),
    "betterplace/missing_crlf_at_end.sta": ("line 1", ":62F: outside a statement"),
    "betterplace/sepa_snippet_broken.sta": ("line 7", ":25: (line 6) has no continuation lines"),
    "cmxl/account_balance_credit.sta": ("line 1", ":60F: outside a statement"),
    "cmxl/account_balance_debit.sta": ("line 1", ":60F: outside a statement"),
    "cmxl/account_identification_iban.sta": ("line 1", ":25: outside a statement"),
    "cmxl/account_identification_legacy.sta": ("line 1", ":25: outside a statement"),
    "cmxl/available_balance.sta": ("line 1", ":64: outside a statement"),
    "cmxl/closing_balance.sta": ("line 1", ":62F: outside a statement"),
    "cmxl/mt940.sta": ("line 38", "bank reference '55555' is duplicated (first at line 36)"),
    "cmxl/reference.sta": ("line 1", "no :25: account identification"),
    "cmxl/statement_details.sta": ("line 1", ":61: outside a statement"),
    "cmxl/statement_line.sta": ("line 1", ":61: outside a statement"),
    "cmxl/statement_number.sta": ("line 1", ":28C: outside a statement"),
    "mBank/mt942.sta": ("line 5", ":34F: is an MT942 interim-report tag"),
    "self-provided/empty_non_swift.sta": ("line 1", ":NS: outside a statement"),
    "self-provided/february_30.sta": ("line 6", "value date 160230 is not a calendar date"),
    "self-provided/gv_codes.sta": ("line 1", "no :62F:/:62M: closing balance"),
    "self-provided/invalid_statement.sta": ("line 1", "no MT940 statement found"),
    "self-provided/mt942.sta": ("line 4", ":34F: is an MT942 interim-report tag"),
    "self-provided/raphaelm.sta": ("line 27", ":62M: currency '105' is not a code"),
    "self-provided/sparkassen.sta": ("line 1", ":61: outside a statement"),
    "self-provided/transaction_details_wrapped.sta": ("line 6", "value date 160230 is not a calendar date"),
    "self-provided/wrapped_timestamp.sta": ("line 5", "value date 160230 is not a calendar date"),
}


class _ReferenceLoader(yaml.SafeLoader):
    """Reads the reference parser's pickled-object YAML as plain data; constructs no Python objects."""


def _object(loader: _ReferenceLoader, suffix: str, node: yaml.Node) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    yield data  # first, so that the anchors looping back to the statement resolve
    assert isinstance(node, yaml.MappingNode)
    data.update(loader.construct_mapping(node, deep=True))


def _apply(loader: _ReferenceLoader, suffix: str, node: yaml.Node) -> Any:
    if not isinstance(node, yaml.SequenceNode):
        return None
    arguments = loader.construct_sequence(node, deep=True)
    if suffix == "decimal.Decimal":
        return Decimal(arguments[0])
    if suffix == "mt940.models.Date":
        state: bytes = arguments[0]  # datetime.date's pickle state: year (2 bytes), month, day
        return date(state[0] * 256 + state[1], state[2], state[3])
    return None


_ReferenceLoader.add_multi_constructor("tag:yaml.org,2002:python/object:", _object)
_ReferenceLoader.add_multi_constructor("tag:yaml.org,2002:python/object/apply:", _apply)
_ReferenceLoader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda loader, suffix, node: None)


def _reference(path: Path) -> dict[str, Any]:
    loaded = yaml.load(path.with_suffix(".yml").read_text(encoding="utf-8"), Loader=_ReferenceLoader)  # noqa: S506
    assert isinstance(loaded, dict)
    return loaded


def _name(path: Path) -> str:
    return path.relative_to(TESTDATA).as_posix()


def _minor(amount: Decimal, currency: str) -> int:
    scaled = amount.scaleb(currency_exponent(currency))
    assert scaled == scaled.to_integral_value()
    return int(scaled)


def test_testdata_is_there() -> None:
    assert len(FILES) >= 40, f"expected the shared MT940 test data at {TESTDATA}"
    assert set(REFUSED) <= {_name(path) for path in FILES}


# Missing test data must fail, not skip: an empty list would make pytest skip the whole test.
@pytest.mark.parametrize("path", FILES or [TESTDATA / "missing.sta"], ids=_name)
def test_file_matches_the_reference_parser_or_is_refused_at_the_place(path: Path) -> None:
    name = _name(path)
    if name in REFUSED:
        location, words = REFUSED[name]
        with pytest.raises(StatementParseError) as caught:
            mt940.parse(path.read_bytes())
        assert caught.value.location == location
        assert words in str(caught.value)
        assert str(caught.value).startswith(f"{location}: ")
        return

    statements = mt940.parse(path.read_bytes())
    reference = _reference(path)
    ours = [line for statement in statements for line in statement.lines]
    theirs = [transaction["data"] for transaction in reference["transactions"]]
    assert len(ours) == len(theirs)
    for line, expected in zip(ours, theirs, strict=True):
        assert line.currency == expected["amount"]["currency"]
        theirs_signed = _minor(expected["amount"]["amount"], line.currency)
        # The reference books RC (reversal of a credit) as a credit; SWIFT and the statements' own
        # balances (see the balance test below) say it is a debit. We follow SWIFT.
        assert line.signed_minor == (-theirs_signed if expected["status"] in ("RC", "RD") else theirs_signed)
        assert line.value_date == expected["date"]
        assert line.booking_date == expected.get("entry_date")
        assert line.direction == ("debit" if expected["status"] in ("D", "RC") else "credit")
        assert line.is_reversal == expected["status"].startswith("R")
        # The reference's German "?20..?63" post-processor overwrites customer_reference with what it
        # finds in :86: (often None); compare the references it kept from :61: itself.
        for ours_reference, theirs_reference in (
            (line.customer_reference, expected["customer_reference"]),
            (line.bank_reference, expected["bank_reference"]),
        ):
            if theirs_reference is not None:
                # Its customer_reference is "the first 16 characters", "//" and bank reference included,
                # so "MEBB//9A46" (15 characters, then "//") comes out as "MEBB/" there.
                theirs_text = theirs_reference.split("//")[0].strip()
                assert (ours_reference or "") in (theirs_text, theirs_text.removesuffix("/"))

    # The reference keeps one record per file, the last statement's values winning.
    last, data = statements[-1], reference["data"]
    assert last.account == data["account_identification"].strip()
    for ours_balance, kind in ((last.opening_balance, "opening"), (last.closing_balance, "closing")):
        assert ours_balance is not None
        key = f"{'intermediate' if ours_balance.intermediate else 'final'}_{kind}_balance"
        expected_balance = data[key]
        assert ours_balance.as_of == expected_balance["date"]
        assert ours_balance.currency == expected_balance["amount"]["currency"]
        assert ours_balance.amount_minor == _minor(
            expected_balance["amount"]["amount"], ours_balance.currency
        )


def test_reversal_of_a_credit_is_a_debit_as_the_balances_prove() -> None:
    # sepa_mt9401.sta has RC entries; only the SWIFT reading (RC = debit) balances its statements.
    statements = mt940.parse((TESTDATA / "betterplace" / "sepa_mt9401.sta").read_bytes())
    assert any(line.is_reversal for statement in statements for line in statement.lines)
    for statement in statements:
        assert statement.opening_balance is not None
        assert statement.closing_balance is not None
        moved = sum(line.signed_minor for line in statement.lines)
        assert statement.opening_balance.amount_minor + moved == statement.closing_balance.amount_minor
