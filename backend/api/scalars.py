"""Scalars of the API."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _parse_int64(value: object) -> int:
    # Strings are the wire form; plain integers are accepted too, booleans and floats are not.
    if isinstance(value, bool):
        raise ValueError("Int64 cannot represent a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not text or not text.lstrip("-").isdigit() or len(text) > 20:
            raise ValueError(f"Int64 cannot represent {value!r}")
        number = int(text)
    elif isinstance(value, int):
        number = value
    else:
        raise ValueError(f"Int64 cannot represent {value!r}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError("Int64 is out of range")
    return number


def _serialize_int64(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"Int64 cannot serialize {value!r}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("Int64 is out of range")
    return str(value)


Int64 = NewType("Int64", int)

# Given to StrawberryConfig.scalar_map by the schema.
SCALAR_MAP: dict[object, ScalarDefinition] = {
    Int64: strawberry.scalar(
        name="Int64",
        description=(
            "A signed 64-bit integer (balances, serial numbers, totals), sent as a string of decimal "
            "digits so that no client loses precision; inputs accept the string or a JSON integer."
        ),
        serialize=_serialize_int64,
        parse_value=_parse_int64,
    )
}
