"""E-signature's announcements to other apps, without esign importing them.

Each dotted path in the setting `CHAIRSIDE_ESIGN_LISTENERS` names a callable
`listener(event: DocumentEvent)`, called inside the transaction that did the work (raising
there rolls the whole action back). Forms listens, to mark its forms completed or void.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from chairside.esign.models import Document, SignerSlot

SIGNED = "signed"
COMPLETED = "completed"
VOIDED = "voided"


@dataclass(frozen=True)
class DocumentEvent:
    """What happened to a document: "signed" (one slot; `slot` is set), "completed" (every
    slot signed and the archive revision added) or "voided"."""

    kind: str
    document: Document
    slot: SignerSlot | None = None


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(import_string(path) for path in paths)


def listeners() -> tuple[Any, ...]:
    return _load(tuple(getattr(settings, "CHAIRSIDE_ESIGN_LISTENERS", ())))


def announce(event: DocumentEvent) -> None:
    for listener in listeners():
        listener(event)
