"""Fixed-window request counters in Django's cache (local memory by default, Redis in
production, where every app server shares them). Each app names its limits with its own
prefix (the portal's plain, e-signature's "esign-"), so their counters never mix."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache

PREFIX = "chairside:rl"


@dataclass(frozen=True)
class Limit:
    """At most `count` requests per `seconds`, counted from the first one of the window."""

    name: str
    count: int
    seconds: int


def _key(limit: Limit, subject: str) -> str:
    # Phone numbers and addresses are personal data: the cache sees only a digest.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"{PREFIX}:{limit.name}:{digest}"


def hit(limit: Limit, subject: str) -> bool:
    """Count one request of `subject`; False once the window's allowance is used up.

    Refused requests count too, so hammering keeps a caller out rather than letting them
    in at the start of each window."""
    key = _key(limit, subject)
    cache.add(key, 0, timeout=limit.seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=limit.seconds)
        count = 1
    return count <= limit.count


def reset(limit: Limit, subject: str) -> None:
    cache.delete(_key(limit, subject))
