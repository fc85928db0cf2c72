"""The evidence log (F4): every event of a signed document becomes a leaf of the
organization's append-only Merkle tree (RFC 6962), chained to the document's previous event,
and the tree's root is time-stamped (a signed tree head) every ten minutes and at completion.

A leaf is SHA-256(0x00 || canonical JSON of the event), the canonical JSON being
`{"actor", "at", "details", "document", "index", "kind", "previous_sha256"}` with sorted
keys, no spaces, UTF-8 and the time in UTC (`2026-11-25T06:00:00.000000Z`), so anyone can
recompute it from the event as the evidence package lists it.

`details` hold only identifiers and technical facts — ids, serial numbers, SHA-256 hashes,
the role of a slot, the caller's IP address and user agent — never health data, never a
name, never the document's title: the log and the evidence package are shown to whoever
verifies a document. `record` refuses anything but a flat dict of short scalars.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.core.models import Organization
from chairside.core.tenancy import TenantScopeError, current_tenant_or_none, tenant_scope
from chairside.esign import merkle, tsa
from chairside.esign.models import Document, EvidenceEvent, EvidenceLog, TreeHead

logger = logging.getLogger(__name__)

# What a detail may be: identifiers, hashes, the IP address and the user agent.
DETAIL_VALUE_MAX = 512
# The keys services use for the facts the evidence package checks (see package.py).
DETAIL_REVISION_SHA256 = "revision_sha256"  # the PDF revision the event produced
DETAIL_DATA_SHA256 = "data_sha256"  # the document's canonical form data
DETAIL_PREVIEW_SHA256 = "preview_sha256"  # the prepared PDF the signer previewed


class EvidenceLogBroken(RuntimeError):
    """The stored log no longer matches its own hashes: never sign a tree head over it."""


# --- canonical leaves (pure: the offline verifier uses these too) -----------------------


def iso_utc(value: dt.datetime) -> str:
    """An instant as the log writes it: UTC, microseconds, a Z."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not \\u escapes): one byte string per value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def leaf_fields(
    *,
    index: int,
    kind: str,
    at: str,
    actor: str,
    document: str | None,
    details: Mapping[str, Any],
    previous_sha256: str,
) -> dict[str, Any]:
    return {
        "index": index,
        "kind": kind,
        "at": at,
        "actor": actor,
        "document": document,
        "details": dict(details),
        "previous_sha256": previous_sha256,
    }


def leaf_sha256(fields: Mapping[str, Any]) -> str:
    """The hex leaf hash of an event given as `leaf_fields` (exactly those seven keys)."""
    return merkle.leaf_hash(canonical_json(dict(fields))).hex()


def event_fields(event: EvidenceEvent) -> dict[str, Any]:
    """The hashed fields of a stored event."""
    return leaf_fields(
        index=event.index,
        kind=event.kind,
        at=iso_utc(event.at),
        actor=event.actor,
        document=event.document.number if event.document is not None else None,
        details=event.details,
        previous_sha256=event.previous_sha256,
    )


def _check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"evidence detail keys are strings, not {key!r}")
        # Floats do not survive every JSON round trip byte for byte; nested data invites
        # copying whole records (health data) into the log.
        if value is not None and not isinstance(value, str | int | bool):
            raise TypeError(f"evidence detail {key!r} must be a string, integer or boolean")
        if isinstance(value, str) and len(value) > DETAIL_VALUE_MAX:
            raise ValueError(f"evidence detail {key!r} is longer than {DETAIL_VALUE_MAX}")
        clean[key] = value
    return clean


# --- writing ---------------------------------------------------------------------------


@contextmanager
def organization_scope(organization_id: int) -> Iterator[None]:
    """Act as the organization (tasks, public pages); a caller of another one is a bug."""
    tenant = current_tenant_or_none()
    if tenant is not None and tenant.organization_id != organization_id:
        raise TenantScopeError("Refusing to touch the evidence log of another organization.")
    if tenant is not None:
        yield
        return
    with tenant_scope(organization_id):
        yield


def _locked_log(organization_id: int) -> EvidenceLog:
    """The organization's log row, locked until the transaction ends (created on first use;
    two first events at once: one creates it, the other waits and then locks it)."""
    logs = EvidenceLog.objects.select_for_update()
    log = logs.filter(organization_id=organization_id).first()
    if log is None:
        try:
            with transaction.atomic():
                log = EvidenceLog.objects.create(organization_id=organization_id)
        except IntegrityError:
            log = logs.get(organization_id=organization_id)
    return log


def record(
    *,
    organization: Organization,
    kind: str,
    actor: str,
    document: Document | None = None,
    details: Mapping[str, Any] | None = None,
) -> EvidenceEvent:
    """Append one event to the organization's log: the next index, no gaps, chained to the
    document's previous event. Runs in the caller's transaction when there is one, so an
    event is never logged for an action that rolled back."""
    if document is not None and document.organization_id != organization.pk:
        raise TenantScopeError("The document belongs to another organization.")
    clean = _check_details(details or {})
    with organization_scope(organization.pk), transaction.atomic():
        log = _locked_log(organization.pk)
        previous = ""
        if document is not None:
            previous = (
                EvidenceEvent.objects.filter(document=document)
                .order_by("-index")
                .values_list("leaf_sha256", flat=True)
                .first()
            ) or ""
        # The database keeps microseconds; what is hashed is what is stored.
        at = timezone.now()
        fields = leaf_fields(
            index=log.size,
            kind=kind,
            at=iso_utc(at),
            actor=actor,
            document=document.number if document is not None else None,
            details=clean,
            previous_sha256=previous,
        )
        event = EvidenceEvent.objects.create(
            organization_id=organization.pk,
            index=log.size,
            document=document,
            kind=kind,
            at=at,
            actor=actor,
            details=clean,
            previous_sha256=previous,
            leaf_sha256=leaf_sha256(fields),
        )
        log.size += 1
        log.save(update_fields=["size"])
    return event


def leaf_hashes(size: int) -> list[bytes]:
    hexes = EvidenceEvent.objects.filter(index__lt=size).order_by("index")
    return [bytes.fromhex(h) for h in hexes.values_list("leaf_sha256", flat=True)]


def _timestamp_token(root: bytes) -> bytes:
    """An RFC 3161 token whose message imprint is SHA-256 of the 32 root bytes (so
    `openssl ts -verify -data tree-head-root.bin` checks it). A TSA failure raises."""
    return tsa.timestamp_token(hashlib.sha256(root).digest(), "sha256")


def _check_new_leaves(latest: TreeHead | None, size: int, leaves: list[bytes]) -> None:
    """Before signing: the previous head still matches the first of `leaves` (all below
    `size`), and each newer leaf recomputes."""
    start = latest.size if latest is not None else 0
    if latest is not None and merkle.root(leaves[: latest.size]).hex() != latest.root_sha256:
        raise EvidenceLogBroken(f"entries before {latest.size} no longer match their tree head")
    newer = (
        EvidenceEvent.objects.filter(index__gte=start, index__lt=size)
        .select_related("document")
        .order_by("index")
    )
    expected = start
    for event in newer.iterator(chunk_size=500):
        if event.index != expected or leaf_sha256(event_fields(event)) != event.leaf_sha256:
            raise EvidenceLogBroken(f"entry {expected} is missing or altered")
        expected += 1
    if expected != size:
        raise EvidenceLogBroken(f"entry {expected} is missing")


def sign_tree_head(organization: Organization) -> TreeHead:
    """Time-stamp the root of the whole log (or return the latest head when nothing was
    added since). Refuses to sign over entries that no longer match their hashes."""
    with organization_scope(organization.pk):
        # Committed size: the log row's lock makes every event below it committed too.
        size = (
            EvidenceLog.objects.filter(organization_id=organization.pk)
            .values_list("size", flat=True)
            .first()
        ) or 0
        latest = TreeHead.objects.order_by("-size").first()
        if latest is not None and latest.size >= size:
            return latest
        leaves = leaf_hashes(size)
        _check_new_leaves(latest, size, leaves)
        root = merkle.root(leaves)
        token = _timestamp_token(root)
        try:
            with transaction.atomic():
                return TreeHead.objects.create(
                    organization_id=organization.pk,
                    size=size,
                    root_sha256=root.hex(),
                    timestamp_token=token,
                )
        except IntegrityError:  # signed at the same moment by the beat and a completion
            return TreeHead.objects.get(size=size)


def inclusion_proof(*, index: int, size: int, organization: Organization) -> list[str]:
    """The audit path (hex) of leaf `index` in the organization's tree of `size` leaves."""
    with organization_scope(organization.pk):
        leaves = leaf_hashes(size)
    if len(leaves) != size:
        raise EvidenceLogBroken(f"the log has {len(leaves)} entries below {size}")
    return [h.hex() for h in merkle.inclusion_proof(index, leaves)]


# --- auditing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogAudit:
    """The result of re-checking a log: ok, or the first entry that is broken and why."""

    ok: bool
    size: int
    first_broken_index: int | None = None
    problem: str = ""
    tree_head_size: int = 0


class _CompactRange:
    """The roots of the perfect subtrees covering leaves 0..n-1, so the root of every prefix
    costs O(log n) while streaming through the leaves once."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []  # (height, hash), tallest first
        self.size = 0

    def append(self, leaf: bytes) -> None:
        height, node = 0, leaf
        while self.stack and self.stack[-1][0] == height:
            _height, left = self.stack.pop()
            node, height = merkle.node_hash(left, node), height + 1
        self.stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        node = self.stack[-1][1]
        for _height, left in reversed(self.stack[:-1]):
            node = merkle.node_hash(left, node)
        return node


def audit_log(organization: Organization) -> LogAudit:
    """Recompute every leaf from its stored fields and check the indexes run 0, 1, 2, ...
    without a gap, each document's chain of previous hashes, and every signed tree head's
    root; report the first broken entry."""
    with organization_scope(organization.pk):
        log_size = (
            EvidenceLog.objects.filter(organization_id=organization.pk)
            .values_list("size", flat=True)
            .first()
        ) or 0
        heads = {h.size: h.root_sha256 for h in TreeHead.objects.only("size", "root_sha256")}
        latest_head = max(heads, default=0)
        rows = (
            EvidenceEvent.objects.order_by("index")
            .values_list(
                "index",
                "kind",
                "at",
                "actor",
                "document_id",
                "document__number",
                "details",
                "previous_sha256",
                "leaf_sha256",
            )
            .iterator(chunk_size=2000)
        )
        last_of_document: dict[int, str] = {}
        tree = _CompactRange()
        verified_up_to = 0

        def broken(index: int, problem: str) -> LogAudit:
            return LogAudit(False, log_size, index, problem, latest_head)

        position = 0
        for index, kind, at, actor, doc_id, number, details, previous, stored in rows:
            if index != position:
                return broken(position, _("Entry %(index)s is missing.") % {"index": position})
            fields = leaf_fields(
                index=index,
                kind=kind,
                at=iso_utc(at),
                actor=actor,
                document=number,
                details=details,
                previous_sha256=previous,
            )
            if leaf_sha256(fields) != stored:
                return broken(
                    index,
                    _("Entry %(index)s was changed: its contents do not match its hash.")
                    % {"index": index},
                )
            if doc_id is not None:
                if previous != last_of_document.get(doc_id, ""):
                    return broken(
                        index,
                        _(
                            "Entry %(index)s does not follow the previous event of its "
                            "document: an event was removed or reordered."
                        )
                        % {"index": index},
                    )
                last_of_document[doc_id] = stored
            elif previous:
                return broken(
                    index,
                    _("Entry %(index)s names a previous event but no document.") % {"index": index},
                )
            tree.append(bytes.fromhex(stored))
            position += 1
            if position in heads:
                if tree.root().hex() != heads[position]:
                    # Every leaf recomputes, yet the time-stamped root differs: entries were
                    # rewritten wholesale after that head; the earliest suspect follows the
                    # last head that still matches.
                    return broken(
                        verified_up_to,
                        _(
                            "Entries %(first)s to %(last)s no longer match the time-stamped "
                            "tree head of %(size)s entries."
                        )
                        % {"first": verified_up_to, "last": position - 1, "size": position},
                    )
                verified_up_to = position
        if latest_head > position:
            # A time-stamped head covers entries that are gone: whatever happened after the
            # last head that still matches is suspect.
            return broken(
                verified_up_to,
                _(
                    "Entries %(first)s to %(last)s no longer match the time-stamped "
                    "tree head of %(size)s entries."
                )
                % {"first": verified_up_to, "last": latest_head - 1, "size": latest_head},
            )
        if position < log_size:
            return broken(position, _("Entry %(index)s is missing.") % {"index": position})
        if position > log_size:
            return broken(
                log_size,
                _("Entry %(index)s was added outside the log.") % {"index": log_size},
            )
    return LogAudit(True, log_size, None, "", latest_head)
