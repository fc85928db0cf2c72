"""django-ninja files every schema under its class name in the OpenAPI components: two
different schemas with one name would leave one of them documented with the other's shape
(it happened: record templates were documented as coupon templates)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

from ninja import Schema

from chairside.api import api


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_two_different_schemas_share_a_name(db: None) -> None:
    api.get_openapi_schema()  # imports every router and its schemas
    shapes: dict[str, set[str]] = defaultdict(set)
    for schema in set(_subclasses(Schema)):
        if schema.__module__.startswith("chairside."):
            shape = json.dumps(schema.model_json_schema(), sort_keys=True)
            shapes[schema.__name__].add(shape)

    assert {name for name, seen in shapes.items() if len(seen) > 1} == set()
