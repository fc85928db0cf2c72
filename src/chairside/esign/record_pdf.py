"""A signed medical record version as a PDF/A-3b to e-sign (F5): the version's frozen
content (the same as its canonical rendering, clinical.rendering) with the rendering's
SHA-256 printed on it, and a box for the doctor's visible signature.

Kept outside services because it renders a template; the record service calls it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from chairside.clinical.models import SECTIONS, RecordVersion, VisitType
from chairside.clinical.rendering import frozen_names, version_content
from chairside.core.clock import clinic_zone

PX_TO_PT = 0.75  # CSS pixels are 1/96 inch, PDF points 1/72 inch
SIGNATURE_ANCHOR = "doctor-signature"


@dataclass(frozen=True)
class RenderedRecord:
    pdf: bytes
    page: int  # 0-based page of the signature box
    box: list[float]  # [x1, y1, x2, y2] in PDF points, origin bottom left


def record_html(version: RecordVersion) -> str:
    record = version.record
    content = version_content(version)
    names = content.frozen or frozen_names(record, version)
    context: dict[str, Any] = {
        "names": names,
        "record": record,
        "version": version,
        "visit_type": VisitType(record.visit_type).label,
        "sections": [
            (str(label), content.section(key)) for key, label in SECTIONS if content.section(key)
        ],
        "findings": content.findings,
        "digest": version.digest,
        "anchor": SIGNATURE_ANCHOR,
    }
    return render_to_string("esign/record_pdf.html", context)


def render_version_pdf(version: RecordVersion) -> RenderedRecord:
    """The PDF/A-3b of a signed version, and where its doctor's signature goes."""
    # Imported here: WeasyPrint loads Pango and fonts, which only PDF requests need.
    from weasyprint import HTML

    zone = clinic_zone(version.record.clinic)
    with translation.override(settings.LANGUAGE_CODE), timezone.override(zone):
        document = HTML(string=record_html(version)).render()
    for number, page in enumerate(document.pages):
        if SIGNATURE_ANCHOR in page.anchors:
            x1, y1, x2, y2 = page.anchors[SIGNATURE_ANCHOR]
            height = page.height * PX_TO_PT
            box = [
                round(x1 * PX_TO_PT, 2),
                round(height - y2 * PX_TO_PT, 2),
                round(x2 * PX_TO_PT, 2),
                round(height - y1 * PX_TO_PT, 2),
            ]
            pdf: bytes = document.write_pdf(pdf_variant="pdf/a-3b")
            return RenderedRecord(pdf=pdf, page=number, box=box)
    raise RuntimeError("the record template lost its signature box")  # pragma: no cover
