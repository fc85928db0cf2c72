"""The canonical rendering of a record version and its content helpers: deterministic bytes,
a digest that verifies, names frozen at signing, findings validated against FDI."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chairside.clinical.models import SECTION_KEYS, ClinicalRecord, RecordVersion
from chairside.clinical.rendering import (
    FINDING_COLOURS,
    RENDERING_FORMAT,
    Finding,
    ToothFinding,
    VersionContent,
    clean_findings,
    clean_sections,
    parse_content,
    rendering_digest,
    verify,
    version_content,
    version_rendering,
)
from chairside.clinical.services.records import record_create, record_sign, record_update_draft
from chairside.core.errors import ValidationFailed
from chairside.core.teeth import PERMANENT_TEETH, PRIMARY_TEETH
from chairside.patients.services import patient_update
from tests.clinical.conftest import Clin
from tests.conftest import World

ALL_TEETH = [t.code for t in (*PERMANENT_TEETH, *PRIMARY_TEETH)]


def _draft(world: World, clin: Clin) -> ClinicalRecord:
    record = record_create(
        actor=world.doctor, clinic=world.clinic1, patient=clin.zhang, visit_type="implant"
    )
    return record_update_draft(
        actor=world.doctor,
        clinic=world.clinic1,
        record=record,
        sections={"complaint": "左下后牙缺失一年", "diagnosis": "36 牙缺失"},
        findings=[{"teeth": [36], "finding": "missing", "note": ""}],
    )


def _version(record: ClinicalRecord) -> RecordVersion:
    return RecordVersion.objects.select_related("record").get(record=record, number=1)


def test_every_finding_has_a_colour_and_a_label() -> None:
    assert set(FINDING_COLOURS) == set(ToothFinding.values)
    assert len(ToothFinding.values) == 12


def test_sections_are_completed_and_unknown_ones_refused() -> None:
    cleaned = clean_sections({"diagnosis": "龋齿  \r\n", "advice": None})
    assert list(cleaned) == list(SECTION_KEYS)
    assert cleaned["diagnosis"] == "龋齿"
    assert cleaned["advice"] == ""
    with pytest.raises(ValidationFailed):
        clean_sections({"diagnosis": "x", "plan": "y"})
    with pytest.raises(ValidationFailed):
        clean_sections({"diagnosis": 5})


def test_findings_take_lists_or_text_and_sort_the_teeth() -> None:
    findings = clean_findings(
        [
            {"teeth": "21，11 12", "finding": "crown", "note": " 烤瓷冠 "},
            {"teeth": [75, 74], "finding": "caries"},
            Finding(teeth=(48,), finding="impacted"),
        ]
    )
    assert findings == (
        Finding(teeth=(11, 12, 21), finding="crown", note="烤瓷冠"),
        Finding(teeth=(74, 75), finding="caries", note=""),
        Finding(teeth=(48,), finding="impacted", note=""),
    )


@given(
    st.lists(st.sampled_from(ALL_TEETH), min_size=1, max_size=6),
    st.sampled_from(ToothFinding.values),
)
def test_content_round_trips_through_its_json(teeth: list[int], finding: str) -> None:
    content = VersionContent(
        sections=clean_sections({"diagnosis": "诊断"}),
        findings=clean_findings([{"teeth": teeth, "finding": finding}]),
    )
    assert parse_content(content.to_json()) == content


@given(st.integers(min_value=-5, max_value=120).filter(lambda n: n not in ALL_TEETH))
def test_no_invalid_tooth_is_accepted(code: int) -> None:
    with pytest.raises(ValidationFailed) as error:
        clean_findings([{"teeth": [11, code], "finding": "other"}])
    assert error.value.code == "invalid_tooth"
    assert "findings.0.teeth" in error.value.fields


def test_a_drafts_rendering_shows_current_names_and_does_not_verify(
    world: World, clin: Clin, in_clinic1: None
) -> None:
    version = _version(_draft(world, clin))

    document = json.loads(version_rendering(version))

    assert document["format"] == RENDERING_FORMAT
    assert document["version"]["signed_at"] is None
    assert document["organization"]["name"] == "Smile Chain"
    assert document["clinic"]["name"] == "Downtown Clinic"
    assert not verify(version)  # unsigned: nothing to verify


def test_the_rendering_is_deterministic_and_the_digest_is_its_sha256(
    world: World, clin: Clin, in_clinic1: None
) -> None:
    record = record_sign(actor=world.doctor, clinic=world.clinic1, record=_draft(world, clin))
    first = version_rendering(_version(record))
    second = version_rendering(_version(record))

    assert first == second
    assert (
        _version(record).digest
        == hashlib.sha256(first).hexdigest()
        == rendering_digest(_version(record))
    )
    assert first.decode("utf-8").isprintable()  # compact: no newlines, raw UTF-8
    assert "左下后牙缺失一年".encode() in first


def test_signing_freezes_the_names_into_the_encrypted_content(
    world: World, clin: Clin, in_clinic1: None
) -> None:
    record = record_sign(actor=world.doctor, clinic=world.clinic1, record=_draft(world, clin))
    patient_update(actor=world.boss, clinic=world.clinic1, patient=clin.zhang, name="张新")

    content = version_content(_version(record))

    assert content.frozen["patient"]["name"] == "张三"
    assert content.frozen["author"] == {"id": world.doctor.pk, "name": "Dr. Li"}
    assert json.loads(version_rendering(_version(record)))["patient"]["name"] == "张三"
    assert verify(_version(record))


def test_changing_a_signed_versions_reason_or_time_breaks_verification(
    world: World, clin: Clin, in_clinic1: None
) -> None:
    record = record_sign(actor=world.doctor, clinic=world.clinic1, record=_draft(world, clin))
    version = _version(record)

    version.reason = "changed"
    assert not verify(version)
    version = _version(record)
    version.number = 2
    assert not verify(version)
