"""Arrow schemas of the four tables every EntertainAI dataset holds.

Ids are strings everywhere (MovieLens ints, UUIDs and slugs all fit); models map them to
dense indices internally. Timestamps are UTC milliseconds.
"""

from __future__ import annotations

import pyarrow as pa

from entertainai.errors import InputError

SCHEMA_VERSION = 1

TIMESTAMP = pa.timestamp("ms", tz="UTC")

ITEMS = pa.schema(
    [
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("description", pa.string()),
        pa.field("genres", pa.list_(pa.string())),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("year", pa.int32()),
        pa.field("kind", pa.string()),  # movie, series, music, ...
        pa.field("maturity_rating", pa.string()),  # G, PG, PG-13, R, NC-17, or null
        pa.field("available", pa.bool_()),
    ]
)

USERS = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("attributes", pa.map_(pa.string(), pa.string())),
    ]
)

INTERACTIONS = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),  # rating, view, play, like, ...
        pa.field("value", pa.float32()),  # the rating, watch fraction, or 1.0
        pa.field("timestamp", TIMESTAMP, nullable=False),
        pa.field("device", pa.string()),
    ]
)

TEXTS = pa.schema(
    [
        pa.field("text_id", pa.string(), nullable=False),
        pa.field("user_id", pa.string()),
        pa.field("item_id", pa.string()),
        pa.field("kind", pa.string()),  # review or comment
        pa.field("text", pa.string(), nullable=False),
        pa.field("timestamp", TIMESTAMP),
        # Optional labels: null where unknown.
        pa.field("rating", pa.float32()),
        pa.field("sentiment", pa.string()),  # negative, neutral, positive
        pa.field("emotions", pa.list_(pa.string())),
        pa.field("toxic", pa.bool_()),
        pa.field("spam", pa.bool_()),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "items": ITEMS,
    "users": USERS,
    "interactions": INTERACTIONS,
    "texts": TEXTS,
}

EVENT_TYPES = ("rating", "view", "play", "like", "dislike", "click", "add_to_list", "purchase")
MATURITY_RATINGS = ("G", "PG", "PG-13", "R", "NC-17")


def conform(table: pa.Table, name: str) -> pa.Table:
    """Cast ``table`` to the schema of table ``name``, adding missing nullable columns.

    Raises :class:`InputError` naming the column when a required one is missing or a cast fails.
    """
    schema = TABLES[name]
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(
                    f"cannot read as {field.type}: {exc}", location=f"{name}.{field.name}"
                ) from None
            if not field.nullable and column.null_count:
                raise InputError(
                    f"{column.null_count} null values in a required column",
                    location=f"{name}.{field.name}",
                )
        elif field.nullable:
            column = pa.nulls(table.num_rows, field.type)
        else:
            raise InputError("required column is missing", location=f"{name}.{field.name}")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def empty(name: str) -> pa.Table:
    return TABLES[name].empty_table()
