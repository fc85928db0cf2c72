"""One page of a list, as every list page and API endpoint shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def paginate(queryset: QuerySet[Any], *, page: int = 1, page_size: int = 20) -> Page:
    page_size = max(1, min(page_size, 100))
    page = max(1, page)
    offset = (page - 1) * page_size
    items = list(queryset[offset : offset + page_size])
    # When the whole result fits on the first page, its length is the count: no query needed.
    whole = page == 1 and len(items) < page_size
    total = len(items) if whole else queryset.order_by().count()
    return Page(items=items, total=total, page=page, page_size=page_size)
