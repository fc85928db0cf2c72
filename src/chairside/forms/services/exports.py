"""Exporting form data (F6): every export is written to the audit log, since it carries
patients' answers out of the system."""

from __future__ import annotations

from django.utils.translation import gettext as _

from chairside.core.audit import audit_record
from chairside.core.errors import ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.forms.exports import export_csv, export_xlsx
from chairside.forms.models import FormTemplate

FORMATS = ("xlsx", "csv")


def form_data_export(*, actor: Staff, clinic: Clinic, template: FormTemplate, fmt: str) -> bytes:
    """The template's forms as an Excel workbook or a CSV file, logged as a read."""
    if fmt not in FORMATS:
        raise ValidationFailed(_("Choose Excel or CSV."), field="format")
    if template.organization_id != clinic.organization_id:
        raise ValidationFailed(_("That belongs to another organization."))
    content = export_xlsx(template) if fmt == "xlsx" else export_csv(template)
    audit_record(
        action=AuditEntry.Action.VIEW,
        instance=template,
        actor=actor,
        clinic=clinic,
        after={"export": fmt},
        summary=_("Form data of %(name)s exported (%(format)s)")
        % {"name": template.name, "format": fmt},
    )
    return content
