"""Reads of form templates and their versions."""

from __future__ import annotations

from django.db.models import Count, Max, QuerySet
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import NotFound
from chairside.forms.models import FormTemplate, FormTemplateVersion


def template_list(
    *, query: str = "", kind: str = "", active: bool | None = None
) -> QuerySet[FormTemplate]:
    """The organization's templates with their latest version number and how many forms were
    made from them (`latest_number`, `instance_count`)."""
    templates = FormTemplate.objects.all()
    if query.strip():
        templates = templates.filter(name__icontains=query.strip())
    if kind:
        templates = templates.filter(kind=kind)
    if active is not None:
        templates = templates.filter(is_active=active)
    return templates.annotate(
        latest_number=Max("versions__number"), instance_count=Count("versions__instances")
    )


def get_template(*, template_id: int) -> FormTemplate:
    """A template of the current organization, or the same 404 whether missing or foreign."""
    template = template_list().filter(pk=template_id).first()
    if template is None:
        raise NotFound(_("Form template not found."))
    return template


def template_by_code(code: str) -> FormTemplate | None:
    return FormTemplate.objects.filter(code=code).first()


def version_list(template: FormTemplate) -> QuerySet[FormTemplateVersion]:
    """The template's versions, newest first, each with `instance_count`."""
    return (
        FormTemplateVersion.objects.filter(template=template)
        .select_related("created_by")
        .annotate(instance_count=Count("instances"))
        .order_by("-number")
    )


def latest_version(template: FormTemplate) -> FormTemplateVersion:
    version = FormTemplateVersion.objects.filter(template=template).order_by("-number").first()
    if version is None:  # every template is created with its first version
        raise NotFound(_("Form template not found."))
    return version


def get_version(*, template: FormTemplate, number: int) -> FormTemplateVersion:
    version = version_list(template).filter(number=number).first()
    if version is None:
        raise NotFound(_("Template version not found."))
    return version
