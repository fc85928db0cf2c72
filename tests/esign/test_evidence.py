"""The evidence log: leaves numbered without gaps, chained per document, hashed exactly as
the canonical JSON says; the audit names the first entry that was deleted, edited or
reordered behind the model's back."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Any

import pytest
from django.db import connection

from chairside.core.models import Organization
from chairside.core.tenancy import TenantScopeError, tenant_scope
from chairside.esign import evidence, merkle
from chairside.esign.models import Document, EvidenceEvent, EvidenceLog, TreeHead
from tests.conftest import World
from tests.esign.evidence_helpers import make_document, make_patient

pytestmark = pytest.mark.django_db

Kind = EvidenceEvent.Kind


@pytest.fixture
def docs(world: World, in_org_a: Any) -> tuple[Document, Document]:
    patient = make_patient(world.clinic1, world.frontdesk)
    return make_document(world.clinic1, patient), make_document(world.clinic1, patient)


def _log(world: World, docs: tuple[Document, Document], n: int = 8) -> list[EvidenceEvent]:
    """n events alternating between two documents, with one organization-level event."""
    kinds = [Kind.CREATED, Kind.SENT, Kind.OPENED, Kind.PREVIEWED, Kind.SIGNED, Kind.COMPLETED]
    events = []
    for i in range(n):
        document = None if i == 3 else docs[i % 2]
        events.append(
            evidence.record(
                organization=world.org,
                kind=kinds[i % len(kinds)],
                actor=f"staff:{world.frontdesk.pk}",
                document=document,
                details={"ip": f"10.0.0.{i}", "user_agent": "Mozilla/5.0", "slot": i},
            )
        )
    return events


def _head(size: int) -> TreeHead:
    leaves = [
        bytes.fromhex(h)
        for h in EvidenceEvent.objects.filter(index__lt=size)
        .order_by("index")
        .values_list("leaf_sha256", flat=True)
    ]
    return TreeHead.objects.create(
        size=size, root_sha256=merkle.root(leaves).hex(), timestamp_token=b"token"
    )


def _swap_indexes(a: int, b: int) -> None:
    table = EvidenceEvent._meta.db_table
    with connection.cursor() as cursor:
        for old, new in ((a, 10**9), (b, a), (10**9, b)):
            cursor.execute(f'UPDATE {table} SET "index" = %s WHERE "index" = %s', [new, old])  # noqa: S608


def test_leaf_is_sha256_of_0x00_and_the_canonical_json(world: World, docs: Any) -> None:
    event = evidence.record(
        organization=world.org,
        kind=Kind.SIGNED,
        actor="patient:5",
        document=docs[0],
        details={"ua": "浏览器", "certificate": "0A1B", "slot": 1},
    )
    event.refresh_from_db()

    at = event.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    expected = (
        '{"actor":"patient:5","at":"' + at + '","details":{"certificate":"0A1B",'
        '"slot":1,"ua":"浏览器"},"document":"' + docs[0].number + '","index":0,'
        '"kind":"signed","previous_sha256":""}'
    ).encode()
    assert event.leaf_sha256 == hashlib.sha256(b"\x00" + expected).hexdigest()
    assert at.endswith("Z")
    assert len(at) == len("2026-11-25T06:00:00.000000Z")


def test_indexes_run_without_gaps_and_documents_chain_their_events(world: World, docs: Any) -> None:
    events = _log(world, docs, 8)

    assert [e.index for e in events] == list(range(8))
    assert EvidenceLog.objects.get().size == 8
    for document in docs:
        chain = list(EvidenceEvent.objects.filter(document=document).order_by("index"))
        assert chain[0].previous_sha256 == ""
        for before, after in itertools.pairwise(chain):
            assert after.previous_sha256 == before.leaf_sha256
    assert events[3].document is None
    assert events[3].previous_sha256 == ""
    assert evidence.audit_log(world.org) == evidence.LogAudit(True, 8)


def test_each_organization_numbers_its_own_log(world: World, docs: Any) -> None:
    _log(world, docs, 3)
    with tenant_scope(world.org_b):
        other = evidence.record(organization=world.org_b, kind=Kind.ENROLLED, actor="system")
        assert other.index == 0
        assert evidence.audit_log(world.org_b).ok


def test_an_event_of_another_organization_is_refused(world: World, docs: Any) -> None:
    with pytest.raises(TenantScopeError):
        evidence.record(organization=world.org_b, kind=Kind.ENROLLED, actor="system")
    with tenant_scope(world.org_b), pytest.raises(TenantScopeError):
        evidence.record(organization=world.org_b, kind=Kind.SIGNED, actor="x", document=docs[0])
    assert not EvidenceEvent.all_tenants.exists()


@pytest.mark.parametrize(
    "details",
    [
        {"patient": {"name": "张小明", "allergies": "penicillin"}},  # nested: records leak in
        {"temperature": 37.5},  # floats do not hash the same after a round trip
        {"notes": ["a", "b"]},
        {"user_agent": "x" * 513},
    ],
)
def test_details_are_flat_short_scalars_only(world: World, docs: Any, details: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        evidence.record(
            organization=world.org,
            kind=Kind.OPENED,
            actor="public",
            document=docs[0],
            details=details,
        )
    assert not EvidenceEvent.objects.exists()


def test_recording_in_a_transaction_that_rolls_back_leaves_no_gap(world: World, docs: Any) -> None:
    from django.db import transaction

    evidence.record(organization=world.org, kind=Kind.CREATED, actor="system", document=docs[0])

    def send_that_fails() -> None:
        with transaction.atomic():
            evidence.record(
                organization=world.org, kind=Kind.SENT, actor="system", document=docs[0]
            )
            raise RuntimeError("the send failed")

    with pytest.raises(RuntimeError):
        send_that_fails()
    again = evidence.record(
        organization=world.org, kind=Kind.SENT, actor="system", document=docs[0]
    )

    assert again.index == 1
    assert evidence.audit_log(world.org).ok


def test_editing_one_event_is_named(world: World, docs: Any) -> None:
    _log(world, docs, 8)
    EvidenceEvent.objects.filter(index=5).update(details={"ip": "10.9.9.9"})

    audit = evidence.audit_log(world.org)

    assert (audit.ok, audit.first_broken_index) == (False, 5)
    assert "Entry 5 was changed" in audit.problem


def test_editing_the_time_or_kind_of_an_event_is_named(world: World, docs: Any) -> None:
    _log(world, docs, 6)
    EvidenceEvent.objects.filter(index=4).update(kind=Kind.VOIDED)
    EvidenceEvent.objects.filter(index=2).update(at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    assert evidence.audit_log(world.org).first_broken_index == 2


def test_deleting_one_event_is_named(world: World, docs: Any) -> None:
    _log(world, docs, 8)
    EvidenceEvent.objects.filter(index=4).delete()

    audit = evidence.audit_log(world.org)

    assert (audit.ok, audit.first_broken_index) == (False, 4)
    assert audit.problem == "Entry 4 is missing."


def test_deleting_the_last_event_is_named(world: World, docs: Any) -> None:
    _log(world, docs, 8)
    EvidenceEvent.objects.filter(index=7).delete()

    assert evidence.audit_log(world.org).first_broken_index == 7


def test_reordering_two_events_is_named(world: World, docs: Any) -> None:
    _log(world, docs, 8)
    _swap_indexes(2, 6)

    audit = evidence.audit_log(world.org)

    assert (audit.ok, audit.first_broken_index) == (False, 2)


def test_a_chain_that_skips_an_event_of_its_document_is_named(world: World, docs: Any) -> None:
    """Even with a leaf hash recomputed to match, an event pointing past its document's
    previous event (one was removed from the chain) is caught."""
    _log(world, docs, 8)
    event = EvidenceEvent.objects.select_related("document").get(index=6)
    skipped = EvidenceEvent.objects.get(index=2)  # the event before 4, before 6 of docs[0]
    event.previous_sha256 = skipped.leaf_sha256
    leaf = evidence.leaf_sha256(evidence.event_fields(event))
    EvidenceEvent.objects.filter(index=6).update(
        previous_sha256=skipped.leaf_sha256, leaf_sha256=leaf
    )

    audit = evidence.audit_log(world.org)

    assert (audit.ok, audit.first_broken_index) == (False, 6)
    assert "does not follow the previous event" in audit.problem


def test_a_log_rewritten_consistently_is_caught_by_its_tree_head(world: World, docs: Any) -> None:
    """Delete entry 3 and renumber and rehash everything after it: every leaf and chain
    recomputes, but the time-stamped roots do not."""
    _log(world, docs, 8)
    _head(2)
    _head(8)
    EvidenceEvent.objects.filter(index=3).delete()
    for event in (
        EvidenceEvent.objects.filter(index__gt=3).select_related("document").order_by("index")
    ):
        event.index -= 1
        previous = (
            EvidenceEvent.objects.filter(document=event.document, index__lt=event.index)
            .order_by("-index")
            .values_list("leaf_sha256", flat=True)
            .first()
            if event.document_id
            else ""
        )
        event.previous_sha256 = previous or ""
        event.leaf_sha256 = evidence.leaf_sha256(evidence.event_fields(event))
        EvidenceEvent.objects.filter(pk=event.pk).update(
            index=event.index, previous_sha256=event.previous_sha256, leaf_sha256=event.leaf_sha256
        )
    EvidenceLog.objects.update(size=7)

    audit = evidence.audit_log(world.org)

    assert (audit.ok, audit.first_broken_index) == (False, 2)
    assert "tree head" in audit.problem


def test_an_event_slipped_in_after_the_log_is_named(world: World, docs: Any) -> None:
    _log(world, docs, 3)
    fields = evidence.leaf_fields(
        index=3,
        kind="signed",
        at="2026-01-01T00:00:00.000000Z",
        actor="x",
        document=None,
        details={},
        previous_sha256="",
    )
    EvidenceEvent.objects.create(
        index=3,
        kind="signed",
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        actor="x",
        leaf_sha256=evidence.leaf_sha256(fields),
    )

    audit = evidence.audit_log(world.org)

    assert (audit.ok, audit.first_broken_index) == (False, 3)


def test_the_audit_reads_in_a_few_queries(
    world: World, docs: Any, django_assert_max_num_queries: Any
) -> None:
    _log(world, docs, 30)
    _head(30)
    with django_assert_max_num_queries(4):
        assert evidence.audit_log(world.org).ok


def test_the_canonical_json_is_what_the_package_reader_recomputes(world: World, docs: Any) -> None:
    event = _log(world, docs, 2)[1]
    event.refresh_from_db()

    # The package lists the fields as JSON; reading them back must give the same leaf.
    listed = json.loads(json.dumps(evidence.event_fields(event)))

    assert evidence.leaf_sha256(listed) == event.leaf_sha256


def test_the_organization_log_row_is_created_once(world: World, docs: Any) -> None:
    _log(world, docs, 2)
    assert EvidenceLog.all_tenants.filter(organization=world.org).count() == 1
    assert Organization.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_events_at_once_get_indexes_0_to_19_without_gap_or_duplicate(world: World) -> None:
    from tests.concurrency import run_concurrently

    with tenant_scope(world.org, world.clinic1):
        patient = make_patient(world.clinic1, world.frontdesk)
        documents = [make_document(world.clinic1, patient) for _ in range(3)]

    def one(i: int) -> int:
        with tenant_scope(world.org):
            event = evidence.record(
                organization=world.org,
                kind=Kind.OPENED,
                actor="public",
                document=documents[i % 3],
                details={"ip": f"10.0.0.{i}"},
            )
            return int(event.index)

    # The first events of an organization also race to create its log row.
    results = run_concurrently(one, 20)

    assert sorted(results) == list(range(20)), results
    with tenant_scope(world.org):
        assert EvidenceLog.objects.get().size == 20
        assert evidence.audit_log(world.org) == evidence.LogAudit(True, 20)


# --- signed tree heads -----------------------------------------------------------------------


def test_a_tree_head_time_stamps_the_root_of_the_whole_log(world: World, docs: Any) -> None:
    from asn1crypto import cms

    _log(world, docs, 5)

    head = evidence.sign_tree_head(world.org)

    leaves = [bytes.fromhex(e.leaf_sha256) for e in EvidenceEvent.objects.order_by("index")]
    assert (head.size, head.root_sha256) == (5, merkle.root(leaves).hex())
    token = cms.ContentInfo.load(bytes(head.timestamp_token))
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    imprint = tst_info["message_imprint"]["hashed_message"].native
    assert imprint == hashlib.sha256(bytes.fromhex(head.root_sha256)).digest()
    assert evidence.audit_log(world.org) == evidence.LogAudit(True, 5, tree_head_size=5)


def test_no_new_events_no_new_tree_head(world: World, docs: Any) -> None:
    _log(world, docs, 3)
    first = evidence.sign_tree_head(world.org)

    again = evidence.sign_tree_head(world.org)
    _log(world, docs, 1)
    grown = evidence.sign_tree_head(world.org)

    assert again.pk == first.pk
    assert (grown.size, TreeHead.objects.count()) == (4, 2)


def test_inclusion_proofs_lead_to_the_signed_root(world: World, docs: Any) -> None:
    events = _log(world, docs, 7)
    head = evidence.sign_tree_head(world.org)

    for event in events:
        proof = evidence.inclusion_proof(index=event.index, size=head.size, organization=world.org)
        assert merkle.verify_inclusion(
            bytes.fromhex(event.leaf_sha256),
            event.index,
            head.size,
            [bytes.fromhex(p) for p in proof],
            bytes.fromhex(head.root_sha256),
        )


def test_no_tree_head_is_signed_over_a_tampered_log(world: World, docs: Any) -> None:
    _log(world, docs, 4)
    evidence.sign_tree_head(world.org)
    _log(world, docs, 2)
    EvidenceEvent.objects.filter(index=5).update(actor="staff:999")

    with pytest.raises(evidence.EvidenceLogBroken, match="entry 5"):
        evidence.sign_tree_head(world.org)
    # Rewriting an entry the last head covers, hash and all, breaks that head's root.
    EvidenceEvent.objects.filter(index=1).update(leaf_sha256="0" * 64)
    with pytest.raises(evidence.EvidenceLogBroken, match="before 4"):
        evidence.sign_tree_head(world.org)
    assert TreeHead.objects.count() == 1


def test_the_beat_task_signs_each_organization_and_survives_a_broken_one(
    world: World, docs: Any
) -> None:
    from chairside.esign.tasks import sign_tree_heads

    _log(world, docs, 3)
    with tenant_scope(world.org_b):
        evidence.record(organization=world.org_b, kind=Kind.ENROLLED, actor="system")
        evidence.record(organization=world.org_b, kind=Kind.ENROLLED, actor="system")
        EvidenceEvent.objects.filter(index=0).update(actor="forged")

    done = sign_tree_heads()

    assert done == 1
    assert TreeHead.objects.get().size == 3
    with tenant_scope(world.org_b):
        assert not TreeHead.objects.exists()
