"""Sales orders from a CSV file, as an ERP exports them: one order per line.

The header names the fields of ``OrderCreate``; empty cells are absent values. Every line is
validated before anything is stored, and each error names its line (the header is line 1) and
field, so a clerk can fix the file and send it again.
"""

from __future__ import annotations

import csv
import io

from pydantic import ValidationError

from core.errors import FieldError
from dispatch.orders.exceptions import InvalidImport
from dispatch.orders.schemas import OrderCreate

MAX_ROWS = 5000
REQUIRED_COLUMNS = frozenset(
    {
        "reference",
        "buyer_id",
        "commodity",
        "quantity",
        "unit",
        "origin_site_id",
        "pickup_from",
        "pickup_until",
        "deliver_by",
        "transport_by",
    }
)
KNOWN_COLUMNS = frozenset(OrderCreate.model_fields)


def parse_orders_csv(text: str) -> list[OrderCreate]:
    """Every line of the file as an order, or InvalidImport listing each bad line and field."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = {name.strip() for name in reader.fieldnames or ()}
    missing = REQUIRED_COLUMNS - header
    unknown = header - KNOWN_COLUMNS
    if missing or unknown:
        problems = [FieldError(("rows", 1, name), "missing column") for name in sorted(missing)]
        problems += [FieldError(("rows", 1, name), "unknown column") for name in sorted(unknown)]
        raise InvalidImport("the header does not match the order fields", errors=problems)
    rows: list[OrderCreate] = []
    errors: list[FieldError] = []
    for line, record in enumerate(reader, start=2):
        if len(rows) + len(errors) >= MAX_ROWS:
            raise InvalidImport(f"a file holds at most {MAX_ROWS} orders", code="import_too_large")
        if None in record:
            errors.append(FieldError(("rows", line), "more cells than the header has columns"))
            continue
        values = {
            key.strip(): value.strip()
            for key, value in record.items()
            if value is not None and value.strip() != ""
        }
        try:
            rows.append(OrderCreate.model_validate(values))
        except ValidationError as error:
            for item in error.errors():
                field = str(item["loc"][0]) if item["loc"] else "row"
                errors.append(FieldError(("rows", line, field), item["msg"]))
    if errors:
        raise InvalidImport(
            f"{len(errors)} problems in the file; nothing was imported", errors=errors
        )
    if not rows:
        raise InvalidImport("the file holds no orders", code="import_empty")
    return rows
