from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.identifiers import GuaranteeNo, GuaranteeNoError, SectionCode, SectionCodeError

SECTION_CHARS = string.ascii_letters + string.digits + "._-"
GUARANTEE_CHARS = string.ascii_uppercase + string.digits + "-"


class Check(BaseModel):
    section: SectionCode
    guarantee_no: GuaranteeNo


@given(st.text(st.sampled_from(SECTION_CHARS), min_size=1, max_size=64))
def test_any_section_code_of_the_allowed_shape_is_accepted(text: str) -> None:
    assert SectionCode(text) == text
    assert isinstance(SectionCode.parse(text), SectionCode)


@given(st.text(st.sampled_from(GUARANTEE_CHARS), min_size=8, max_size=40))
def test_any_guarantee_no_of_the_allowed_shape_is_accepted(text: str) -> None:
    assert GuaranteeNo(text) == text


@given(st.text(min_size=1, max_size=64).filter(lambda t: not set(t) <= set(SECTION_CHARS)))
def test_section_code_with_any_other_character_is_refused(text: str) -> None:
    with pytest.raises(SectionCodeError):
        SectionCode(text)


@pytest.mark.parametrize("text", ["", "a" * 65, "A 1", "标段1", "A1\n", "Ａ1", "A/1", "٣"])
def test_section_code_bad_shapes(text: str) -> None:
    with pytest.raises(SectionCodeError) as caught:
        SectionCode(text)
    assert caught.value.code == "invalid_section_code"


@pytest.mark.parametrize(
    "text", ["", "ABC-123", "A" * 41, "abcd-1234", "ABCD_1234", " ABCD-1234", "ABCD-1234\n", "ÀBCD-1234"]
)
def test_guarantee_no_bad_shapes(text: str) -> None:
    with pytest.raises(GuaranteeNoError) as caught:
        GuaranteeNo(text)
    assert caught.value.code == "invalid_guarantee_no"


def test_identifiers_are_distinct_types_but_plain_strings() -> None:
    code = SectionCode("JSGC-2024.001_A")
    assert f"{code}" == "JSGC-2024.001_A"
    assert {"JSGC-2024.001_A": 1}[code] == 1
    assert repr(code) == "SectionCode('JSGC-2024.001_A')"


def test_pydantic_validates_with_stable_codes() -> None:
    check = Check.model_validate_json('{"section": "S-1", "guarantee_no": "BG2024-0001"}')
    assert isinstance(check.section, SectionCode)
    assert isinstance(check.guarantee_no, GuaranteeNo)
    assert check.model_dump() == {"section": "S-1", "guarantee_no": "BG2024-0001"}
    with pytest.raises(ValidationError) as caught:
        Check.model_validate({"section": "S 1", "guarantee_no": "short"})
    assert {error["type"] for error in caught.value.errors()} == {
        "invalid_section_code",
        "invalid_guarantee_no",
    }


def test_json_schemas_carry_the_patterns() -> None:
    assert TypeAdapter(SectionCode).json_schema() == {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
    assert TypeAdapter(GuaranteeNo).json_schema() == {"type": "string", "pattern": "^[A-Z0-9-]{8,40}$"}
