"""The base of the validated `str` subclasses (Uscc, SectionCode, GuaranteeNo).

A subclass of `str` so that values work as dict keys, in f-strings and in SQL parameters unchanged;
constructing one validates it, so holding one means it is valid. Pydantic validates strings through
`parse` (which may normalise, e.g. upper-case a USCC) and reports the error's code as the error type.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from contracts.errors import ContractValueError


class ValidatedStr(str):
    __slots__ = ()

    error_type: ClassVar[type[ContractValueError]] = ContractValueError
    # Shown in the JSON schema only; `check` is what enforces the shape.
    json_schema_extra: ClassVar[dict[str, Any]] = {}

    def __new__(cls, value: str) -> Self:
        if not isinstance(value, str):
            raise cls.error_type(f"{cls.__name__} is made from text, got {type(value).__name__}")
        cls.check(value)
        return super().__new__(cls, value)

    @classmethod
    def check(cls, value: str) -> None:
        """Raise `error_type` unless `value` is exactly in canonical form."""
        raise NotImplementedError

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read a value from outside; subclasses may normalise harmless differences first."""
        return cls(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(text: str) -> ValidatedStr:
            try:
                return cls.parse(text)
            except ContractValueError as error:
                raise PydanticCustomError(error.code, str(error)) from error

        return core_schema.no_info_after_validator_function(
            validate,
            core_schema.str_schema(strict=True),
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, return_schema=core_schema.str_schema()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(cls.json_schema_extra)
        return json_schema
