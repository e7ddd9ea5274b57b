"""The input rules every endpoint shares, stated in the schemas so the OpenAPI document
says them (patterns, lengths, strict types).

- Ids (the store's ids, option ids, CJ vids, our fulfillment ids) are letters, digits
  and `_ - : .`, not starting with `.`: no `/`, `?`, `#`, `%`, `\\`, space or control
  character, so an id never becomes a path segment such as `.` or `..` or changes the
  meaning of a URL it is put into (Medusa's and CJ's paths, our `Location`).
- Free text (addresses, names, SKUs) refuses control characters and NUL: Postgres cannot
  store NUL, and a newline in an address line reaches a courier's label.
- Quantities are JSON integers: not `true`, `"3"` or `2.0`.
- Every length is at most its database column (tested on Postgres).
- `metadata` is a JSON object at most `METADATA_MAX_DEPTH` deep and `METADATA_MAX_BYTES`
  long, whose strings hold no NUL.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

ID_PATTERN = r"^[A-Za-z0-9_:-][A-Za-z0-9_.:-]*$"
ID_RULE = "letters, digits and `_ - : .` (not first); no `/`, spaces or control characters"
# C0 and C1 control characters and DEL (NUL included).
TEXT_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
TEXT_RULE = "no control characters (NUL, tab, newline …)"

METADATA_MAX_DEPTH = 8
METADATA_MAX_BYTES = 16 * 1024
MAX_QUANTITY = 10_000


def id_field(max_length: int, description: str = "") -> Any:
    """An id of at most `max_length` characters (its column's length): `Annotated[str, …]`."""
    return Field(
        min_length=1,
        max_length=max_length,
        pattern=ID_PATTERN,
        description=" ".join(filter(None, [description, ID_RULE])),
    )


def text_field(max_length: int, *, min_length: int = 0, description: str = "") -> Any:
    """Free text of at most `max_length` characters, without control characters."""
    return Field(
        min_length=min_length,
        max_length=max_length,
        pattern=TEXT_PATTERN,
        description=" ".join(filter(None, [description, TEXT_RULE])),
    )


class StrictInput(BaseModel):
    """A request body: unknown fields are refused (422 `extra_forbidden`) on every route,
    and surrounding whitespace is dropped before the rules are checked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Quantity = Annotated[
    StrictInt, Field(ge=1, le=MAX_QUANTITY, description="a JSON integer (not a string or 2.0)")
]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _storable(value: Any) -> bool:
    """Postgres `jsonb` takes it: no NUL in a string or key, no NaN or infinity."""
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all("\x00" not in k and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if _depth(value) > METADATA_MAX_DEPTH:
        raise ValueError(f"metadata nests deeper than {METADATA_MAX_DEPTH} levels")
    if not _storable(value):
        raise ValueError("metadata holds a NUL character or a number that is not finite")
    if len(json.dumps(value, separators=(",", ":")).encode()) > METADATA_MAX_BYTES:
        raise ValueError(f"metadata is longer than {METADATA_MAX_BYTES} bytes as JSON")
    return value


Metadata = Annotated[
    dict[str, Any] | None,
    AfterValidator(_check_metadata),
    Field(
        description=(
            f"Stored with the fulfillment, never sent to CJ: a JSON object at most "
            f"{METADATA_MAX_DEPTH} levels deep and {METADATA_MAX_BYTES} bytes long as compact "
            "JSON; strings without NUL"
        )
    ),
]
