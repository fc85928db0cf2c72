"""Teeth in FDI (ISO 3950) two-digit notation, sets of them, and a model field for sets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import ErrorCode, ValidationFailed

# Quadrant -> teeth per quadrant: 1-4 permanent (8 each), 5-8 primary (5 each).
_TEETH_PER_QUADRANT = {1: 8, 2: 8, 3: 8, 4: 8, 5: 5, 6: 5, 7: 5, 8: 5}
# Quadrants whose central incisors touch across the midline (same jaw, same dentition).
_MIDLINE_PAIRS = frozenset(
    {frozenset({1, 2}), frozenset({3, 4}), frozenset({5, 6}), frozenset({7, 8})}
)
_UPPER_QUADRANTS = frozenset({1, 2, 5, 6})
# The patient's left, which is the viewer's right on a chart.
_LEFT_QUADRANTS = frozenset({2, 3, 6, 7})
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _invalid_tooth() -> ValidationFailed:
    return ValidationFailed(
        _("Use FDI tooth numbers: 11-48 for permanent teeth, 51-85 for primary teeth."),
        code=ErrorCode.INVALID_TOOTH,
    )


@dataclass(frozen=True, slots=True, order=True)
class Tooth:
    """One tooth by its FDI code: quadrant digit then position from the midline."""

    code: int

    def __post_init__(self) -> None:
        code = self.code
        if isinstance(code, bool) or not isinstance(code, int):
            raise _invalid_tooth()
        quadrant, position = divmod(code, 10)
        if not 1 <= position <= _TEETH_PER_QUADRANT.get(quadrant, 0):
            raise _invalid_tooth()

    @classmethod
    def parse(cls, text: str) -> Tooth:
        cleaned = text.strip() if isinstance(text, str) else ""
        if not re.fullmatch(r"[0-9]{2}", cleaned):
            raise _invalid_tooth()
        return cls(int(cleaned))

    @property
    def quadrant(self) -> int:
        return self.code // 10

    @property
    def position(self) -> int:
        return self.code % 10

    @property
    def is_primary(self) -> bool:
        return self.quadrant >= 5

    @property
    def is_upper(self) -> bool:
        return self.quadrant in _UPPER_QUADRANTS

    @property
    def is_left(self) -> bool:
        return self.quadrant in _LEFT_QUADRANTS

    def is_adjacent(self, other: Tooth) -> bool:
        """Whether the two teeth touch in the arch, as a bridge's abutments and pontics must."""
        if self.quadrant == other.quadrant:
            return abs(self.position - other.position) == 1
        return (
            self.position == other.position == 1
            and frozenset({self.quadrant, other.quadrant}) in _MIDLINE_PAIRS
        )

    def __str__(self) -> str:
        return str(self.code)


PERMANENT_TEETH: tuple[Tooth, ...] = tuple(
    Tooth(q * 10 + p) for q in (1, 2, 3, 4) for p in range(1, _TEETH_PER_QUADRANT[q] + 1)
)
PRIMARY_TEETH: tuple[Tooth, ...] = tuple(
    Tooth(q * 10 + p) for q in (5, 6, 7, 8) for p in range(1, _TEETH_PER_QUADRANT[q] + 1)
)


def _as_tooth(item: Tooth | int | str) -> Tooth:
    if isinstance(item, Tooth):
        return item
    if isinstance(item, str):
        return Tooth.parse(item)
    return Tooth(item)


@dataclass(frozen=True, slots=True, init=False)
class ToothSet:
    """A sorted set of distinct teeth, e.g. the teeth one treatment line covers."""

    teeth: tuple[Tooth, ...]

    def __init__(self, teeth: Iterable[Tooth | int | str] = ()) -> None:
        object.__setattr__(self, "teeth", tuple(sorted({_as_tooth(t) for t in teeth})))

    @classmethod
    def parse(cls, text: str) -> ToothSet:
        """Teeth separated by commas (ASCII or Chinese), 、 or spaces; "" is the empty set."""
        if not isinstance(text, str):
            raise _invalid_tooth()
        return cls(Tooth.parse(token) for token in _SEPARATORS.split(text) if token)

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(t.code for t in self.teeth)

    @property
    def quadrants(self) -> tuple[int, ...]:
        return tuple(sorted({t.quadrant for t in self.teeth}))

    def is_contiguous(self) -> bool:
        """Whether every tooth is reachable from every other through touching neighbours."""
        if not self.teeth:
            return False
        reached = {self.teeth[0]}
        frontier = [self.teeth[0]]
        while frontier:
            current = frontier.pop()
            for tooth in self.teeth:
                if tooth not in reached and current.is_adjacent(tooth):
                    reached.add(tooth)
                    frontier.append(tooth)
        return len(reached) == len(self.teeth)

    def union(self, other: Iterable[Tooth | int | str]) -> ToothSet:
        return ToothSet((*self.teeth, *other))

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Tooth):
            return item in self.teeth
        if isinstance(item, int) and not isinstance(item, bool):
            return item in self.codes
        return False

    def __iter__(self) -> Iterator[Tooth]:
        return iter(self.teeth)

    def __len__(self) -> int:
        return len(self.teeth)

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.teeth)

    def __repr__(self) -> str:
        return f"ToothSet({str(self)!r})"


if TYPE_CHECKING:
    _ToothSetFieldBase = models.CharField[ToothSet | Iterable[Tooth | int] | str | None, ToothSet]
else:
    _ToothSetFieldBase = models.CharField


class ToothSetField(_ToothSetFieldBase):
    """Stores a ToothSet as its canonical text ("11,12,21"; "" for no teeth)."""

    description = _("Set of teeth (FDI notation)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 200:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> ToothSet | None:
        if value is None:
            return None
        return ToothSet.parse(value)

    def to_python(self, value: Any) -> ToothSet | None:
        if value is None or isinstance(value, ToothSet):
            return value
        if isinstance(value, Promise):
            value = str(value)
        try:
            if isinstance(value, str):
                return ToothSet.parse(value)
            return ToothSet(value)
        except (ValidationFailed, TypeError) as error:
            # Model and form validation only understand Django's own ValidationError.
            raise ValidationError(
                getattr(error, "message", str(error)), code=ErrorCode.INVALID_TOOTH
            ) from error

    def get_prep_value(self, value: Any) -> str | None:
        tooth_set = self.to_python(value)
        return None if tooth_set is None else str(tooth_set)

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or ""
