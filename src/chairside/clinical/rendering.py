"""A record version's content (sections and tooth findings) and its canonical rendering.

The rendering is the exact bytes a signature covers: UTF-8 JSON with sorted keys and no
insignificant whitespace. At signing, the names it shows (organization, clinic, patient,
doctor, author) are frozen into the version's encrypted content, so renaming a patient or
a doctor later never changes a signed version's bytes. `version_rendering` and `verify`
read only the version row and its frozen content; a PAdES signature (the e-signature issue)
attaches to a PDF made from the same frozen content, and can carry this digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chairside.clinical.models import SECTION_KEYS, ClinicalRecord, RecordVersion
from chairside.core.errors import ErrorCode, ValidationFailed
from chairside.core.teeth import ToothSet

# Bumped if the rendering's shape ever changes; old versions keep verifying under theirs.
RENDERING_FORMAT = "chairside.clinical-record/1"
MAX_FINDINGS = 200
MAX_NOTE = 200


class ToothFinding(models.TextChoices):
    """What a doctor can record on a tooth (the fixed vocabulary of the tooth chart)."""

    CARIES = "caries", _("Caries")
    MISSING = "missing", _("Missing")
    FILLED = "filled", _("Filled")
    CROWN = "crown", pgettext_lazy("tooth finding", "Crown")
    ROOT_CANAL_TREATED = "root_canal_treated", _("Root canal treated")
    IMPLANT = "implant", pgettext_lazy("tooth finding", "Implant")
    MOBILITY = "mobility", _("Mobility")
    FRACTURE = "fracture", _("Fracture")
    CALCULUS = "calculus", _("Calculus")
    IMPACTED = "impacted", _("Impacted")
    PERIAPICAL_LESION = "periapical_lesion", _("Periapical lesion")
    OTHER = "other", pgettext_lazy("tooth finding", "Other")


# The chart's colour per finding (the legend shows the same).
FINDING_COLOURS: dict[str, str] = {
    ToothFinding.CARIES: "#d9480f",
    ToothFinding.MISSING: "#868e96",
    ToothFinding.FILLED: "#1c7ed6",
    ToothFinding.CROWN: "#f59f00",
    ToothFinding.ROOT_CANAL_TREATED: "#7048e8",
    ToothFinding.IMPLANT: "#0ca678",
    ToothFinding.MOBILITY: "#e64980",
    ToothFinding.FRACTURE: "#c92a2a",
    ToothFinding.CALCULUS: "#a67c52",
    ToothFinding.IMPACTED: "#5c7cfa",
    ToothFinding.PERIAPICAL_LESION: "#ae3ec9",
    ToothFinding.OTHER: "#495057",
}


@dataclass(frozen=True)
class Finding:
    """Teeth (FDI codes, sorted) with one finding and an optional note."""

    teeth: tuple[int, ...]
    finding: str
    note: str = ""

    @property
    def label(self) -> str:
        return str(ToothFinding(self.finding).label)

    @property
    def colour(self) -> str:
        return FINDING_COLOURS[self.finding]

    @property
    def teeth_text(self) -> str:
        return ",".join(str(t) for t in self.teeth)

    def as_json(self) -> dict[str, Any]:
        return {"teeth": list(self.teeth), "finding": self.finding, "note": self.note}


@dataclass(frozen=True)
class VersionContent:
    """The decrypted content of a version: every section (blank ones as "") and findings."""

    sections: dict[str, str]
    findings: tuple[Finding, ...] = ()
    # Names frozen at signing (see the module docstring); empty while a draft.
    frozen: dict[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> str:
        return self.sections.get(key, "")

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "sections": {key: self.section(key) for key in SECTION_KEYS},
            "findings": [f.as_json() for f in self.findings],
        }
        if self.frozen:
            data["frozen"] = self.frozen
        return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _field_error(message: Any, name: str) -> ValidationFailed:
    return ValidationFailed(message, field=name)


def clean_sections(sections: dict[str, Any]) -> dict[str, str]:
    """Every section key present, text stripped of trailing space; unknown keys refused."""
    unknown = sorted(set(sections) - set(SECTION_KEYS))
    if unknown:
        raise ValidationFailed(
            _("Unknown record sections: %(keys)s.") % {"keys": ", ".join(unknown)},
            field="sections",
        )
    cleaned: dict[str, str] = {}
    for key in SECTION_KEYS:
        value = sections.get(key) or ""
        if not isinstance(value, str):
            raise _field_error(_("Enter text."), f"sections.{key}")
        if "\x00" in value:
            raise _field_error(_("Remove the control characters from this text."), key)
        cleaned[key] = value.replace("\r\n", "\n").rstrip()
    return cleaned


def clean_findings(findings: list[Any]) -> tuple[Finding, ...]:
    """Findings validated: FDI teeth (at least one), a known finding, a short note."""
    if len(findings) > MAX_FINDINGS:
        raise _field_error(
            _("At most %(limit)d findings per record.") % {"limit": MAX_FINDINGS}, "findings"
        )
    cleaned: list[Finding] = []
    for index, raw in enumerate(findings):
        where = f"findings.{index}"
        if isinstance(raw, Finding):
            raw = raw.as_json()
        if not isinstance(raw, dict):
            raise _field_error(_("Enter an object."), where)
        teeth_raw = raw.get("teeth")
        try:
            if isinstance(teeth_raw, str):
                teeth = ToothSet.parse(teeth_raw)
            elif isinstance(teeth_raw, list | tuple):
                teeth = ToothSet(teeth_raw)
            else:
                teeth = ToothSet()
        except (ValidationFailed, TypeError) as error:
            message = getattr(error, "message", str(error))
            raise ValidationFailed(
                message, field=f"{where}.teeth", code=ErrorCode.INVALID_TOOTH
            ) from error
        if not teeth:
            raise _field_error(_("Pick at least one tooth."), f"{where}.teeth")
        finding = raw.get("finding")
        if finding not in ToothFinding.values:
            raise _field_error(_("Choose a finding from the list."), f"{where}.finding")
        note = raw.get("note") or ""
        if not isinstance(note, str) or len(note) > MAX_NOTE or "\x00" in note:
            raise _field_error(
                _("Keep the note to %(limit)d characters of text.") % {"limit": MAX_NOTE},
                f"{where}.note",
            )
        cleaned.append(Finding(teeth=teeth.codes, finding=finding, note=note.strip()))
    return tuple(cleaned)


def parse_content(raw: str) -> VersionContent:
    """The content as stored (JSON text); trusted, so not validated again."""
    data = json.loads(raw) if raw else {}
    sections = data.get("sections") or {}
    return VersionContent(
        sections={key: str(sections.get(key) or "") for key in SECTION_KEYS},
        findings=tuple(
            Finding(teeth=tuple(f["teeth"]), finding=f["finding"], note=f.get("note", ""))
            for f in data.get("findings") or ()
        ),
        frozen=data.get("frozen") or {},
    )


def version_content(version: RecordVersion) -> VersionContent:
    return parse_content(version.content)


def _party(pk: int | None, name: str, **extra: str) -> dict[str, Any]:
    return {"id": pk, "name": name, **extra}


def frozen_names(record: ClinicalRecord, version: RecordVersion) -> dict[str, Any]:
    """The names the rendering shows, as they are now (frozen into the content at signing)."""
    return {
        "organization": _party(record.organization_id, record.organization.name),
        "clinic": _party(record.clinic_id, record.clinic.name),
        "patient": _party(
            record.patient_id, record.patient.name, record_no=record.patient.record_no
        ),
        "doctor": _party(record.doctor_id, record.doctor.display_name),
        "author": _party(version.author_id, version.author.display_name),
    }


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def version_rendering(version: RecordVersion) -> bytes:
    """The canonical bytes of `version`: deterministic for a signed version, forever."""
    record = version.record
    content = version_content(version)
    names = content.frozen or frozen_names(record, version)
    document = {
        "format": RENDERING_FORMAT,
        **{k: names[k] for k in ("organization", "clinic", "patient", "doctor")},
        "record": {
            "id": record.pk,
            "visit_type": record.visit_type,
            "visit_date": record.visit_date.isoformat(),
        },
        "version": {
            "number": version.number,
            "kind": version.kind,
            "author": names["author"],
            "reason": version.reason,
            "signed_at": _instant(version.signed_at),
        },
        # A list keeps the sections in the order they are written, despite sorted keys.
        "sections": [[key, content.section(key)] for key in SECTION_KEYS],
        "findings": [f.as_json() for f in content.findings],
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def rendering_digest(version: RecordVersion) -> str:
    return hashlib.sha256(version_rendering(version)).hexdigest()


def verify(version: RecordVersion) -> bool:
    """Whether a signed version's stored digest still matches its rendering."""
    if version.signed_at is None or not version.digest:
        return False
    return version.digest == rendering_digest(version)
