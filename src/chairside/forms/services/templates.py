"""Form template business actions (F1): create and change templates, and install the
default ones.

A version is frozen once a form was made from it: changing a template whose latest version
has forms makes a new version; otherwise the latest version is edited in place. The
template row is locked by both this and form creation, so a form never ends up on a
version that changes after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import FieldErrors, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.tenancy import current_tenant_or_none, tenant_scope
from chairside.forms.blocks import clean_blocks, clean_signers
from chairside.forms.defaults import DEFAULT_TEMPLATES, DefaultTemplate
from chairside.forms.models import FormTemplate, FormTemplateVersion
from chairside.forms.selectors.templates import latest_version

MAX_NAME = 100
MAX_TITLE = 200
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass
class TemplateData:
    """What the builder saves: the template's own fields and the wording of its version."""

    name: str
    kind: str
    blocks: list[dict[str, Any]]
    signers: list[str] = field(default_factory=lambda: ["patient"])
    title: str = ""
    requires_id_number: bool = False
    is_active: bool = True
    code: str = ""


@dataclass(frozen=True)
class CleanTemplate:
    name: str
    kind: str
    title: str
    blocks: list[dict[str, Any]]
    signers: list[str]
    requires_id_number: bool
    is_active: bool
    code: str


def clean_template(data: TemplateData) -> CleanTemplate:
    """The data as stored, or ValidationFailed naming every problem (blocks by index)."""
    errors = FieldErrors()
    name = (data.name or "").strip()
    if not name:
        errors.add("name", _("Give the template a name."))
    elif len(name) > MAX_NAME:
        errors.add(
            "name", _("The name is too long (at most %(count)d characters).") % {"count": MAX_NAME}
        )
    if data.kind not in FormTemplate.Kind.values:
        errors.add("kind", _("Choose the kind of form."))
    title = (data.title or "").strip() or name
    if len(title) > MAX_TITLE:
        errors.add(
            "title",
            _("The title is too long (at most %(count)d characters).") % {"count": MAX_TITLE},
        )
    code = (data.code or "").strip().lower()
    if code and not CODE.match(code):
        errors.add(
            "code",
            _("A code is small Latin letters, digits and -, at most 40 (e.g. implant-consent)."),
        )
    signers = clean_signers(errors, data.signers)
    blocks = clean_blocks(errors, data.blocks, signers)
    errors.raise_if_any()
    return CleanTemplate(
        name=name,
        kind=data.kind,
        title=title,
        blocks=blocks,
        signers=signers,
        requires_id_number=bool(data.requires_id_number),
        is_active=bool(data.is_active),
        code=code,
    )


def _free_code(organization_id: int, wanted: str, exclude_id: int | None = None) -> str:
    taken = FormTemplate.objects.filter(organization_id=organization_id)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    codes = set(taken.values_list("code", flat=True))
    if wanted:
        if wanted in codes:
            raise ValidationFailed(_("Another template has this code."), field="code")
        return wanted
    number = len(codes) + 1
    while f"form-{number}" in codes:
        number += 1
    return f"form-{number}"


def _version_content(version: FormTemplateVersion | CleanTemplate) -> tuple[Any, ...]:
    """The wording a version holds (or would hold): a change of it makes or edits one."""
    return (version.title, version.blocks, version.signers, version.requires_id_number)


def _create_version(
    template: FormTemplate, number: int, clean: CleanTemplate, actor: Staff | None
) -> FormTemplateVersion:
    return FormTemplateVersion.objects.create(
        organization_id=template.organization_id,
        template=template,
        number=number,
        title=clean.title,
        blocks=clean.blocks,
        signers=clean.signers,
        requires_id_number=clean.requires_id_number,
        created_by=actor,
    )


@transaction.atomic
def form_template_create(
    *, actor: Staff | None, clinic: Clinic, data: TemplateData
) -> FormTemplate:
    """A new template with its first version."""
    clean = clean_template(data)
    template = FormTemplate.objects.create(
        organization_id=clinic.organization_id,
        code=_free_code(clinic.organization_id, clean.code),
        name=clean.name,
        kind=clean.kind,
        is_active=clean.is_active,
        created_at=timezone.now(),
    )
    version = _create_version(template, 1, clean, actor)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=template,
        actor=actor,
        clinic=clinic,
        after={**snapshot(template), "version": version.number},
        summary=_("Form template %(name)s created") % {"name": template.name},
    )
    return template


@transaction.atomic
def form_template_update(
    *, actor: Staff | None, clinic: Clinic, template: FormTemplate, data: TemplateData
) -> FormTemplateVersion:
    """Change a template; returns its latest version afterwards (new, edited or unchanged).

    Forms already made keep the version they were made from: if the latest version has
    forms and the wording changed, the change becomes a new version.
    """
    clean = clean_template(data)
    template = FormTemplate.objects.select_for_update().get(pk=template.pk)
    before = snapshot(template)
    template.name = clean.name
    template.kind = clean.kind
    template.is_active = clean.is_active
    if clean.code:
        template.code = _free_code(template.organization_id, clean.code, exclude_id=template.pk)
    template.save()
    latest = latest_version(template)
    outcome = "unchanged"
    if _version_content(clean) != _version_content(latest):
        if latest.instances.exists():
            latest = _create_version(template, latest.number + 1, clean, actor)
            outcome = "new_version"
        else:
            latest.title = clean.title
            latest.blocks = clean.blocks
            latest.signers = clean.signers
            latest.requires_id_number = clean.requires_id_number
            latest.save(update_fields=["title", "blocks", "signers", "requires_id_number"])
            outcome = "edited"
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=template,
        actor=actor,
        clinic=clinic,
        before=before,
        after={**snapshot(template), "version": latest.number, "wording": outcome},
        summary=_("Form template %(name)s changed (version %(number)d)")
        % {"name": template.name, "number": latest.number},
    )
    return latest


# --- defaults -------------------------------------------------------------------------------


def form_templates_install_defaults(*, organization: Organization) -> list[FormTemplate]:
    """Add the default templates the organization lacks (by code); returns the new ones.

    Idempotent: a template that exists, edited or not, is left alone. Runs inside the
    organization's tenant scope, whatever the caller's.
    """
    tenant = current_tenant_or_none()
    if tenant is not None and tenant.organization_id == organization.pk:
        return _install_defaults(organization)
    with tenant_scope(organization):
        return _install_defaults(organization)


@transaction.atomic
def _install_defaults(organization: Organization) -> list[FormTemplate]:
    existing = set(FormTemplate.objects.values_list("code", flat=True))
    return [
        _install(organization, default)
        for default in DEFAULT_TEMPLATES
        if default.code not in existing
    ]


def _install(organization: Organization, default: DefaultTemplate) -> FormTemplate:
    clean = clean_template(
        TemplateData(
            name=default.name,
            kind=default.kind,
            blocks=default.blocks,
            signers=default.signers,
            title=default.printed_title,
            requires_id_number=default.requires_id_number,
        )
    )
    template = FormTemplate.objects.create(
        organization=organization, code=default.code, name=clean.name, kind=clean.kind
    )
    _create_version(template, 1, clean, actor=None)
    return template
