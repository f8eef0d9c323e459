"""Fast JSON for responses and stored replies."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


def dumps(value: Any) -> bytes:
    """Serialize to JSON bytes (UUIDs, datetimes and dataclasses included)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


class FastJSONResponse(JSONResponse):
    """A JSONResponse rendered with orjson."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
