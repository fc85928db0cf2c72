"""Form template services: creating a template with its first version, the version rule on
saving (a new version once forms use the latest, else edited in place), and the default
templates (installed once per organization, by the service and by migration 0003)."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from chairside.core.errors import ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.services import organization_create
from chairside.core.tenancy import tenant_scope
from chairside.forms.defaults import DEFAULT_TEMPLATES
from chairside.forms.models import FormTemplate, FormTemplateVersion
from chairside.forms.services.templates import (
    form_template_create,
    form_template_update,
    form_templates_install_defaults,
)
from tests.conftest import World
from tests.forms.conftest import Forms, make_form, simple_template


def _versions(template: FormTemplate) -> list[tuple[int, str]]:
    return [
        (v.number, v.blocks[0]["text"])
        for v in FormTemplateVersion.objects.filter(template=template).order_by("number")
    ]


def test_a_template_is_created_with_its_first_version(world: World, in_org_a: object) -> None:
    template = form_template_create(
        actor=world.boss, clinic=world.clinic1, data=simple_template(title="")
    )

    version = FormTemplateVersion.objects.get(template=template)
    assert (template.name, template.kind, template.code) == (
        "术后回访表",
        "questionnaire",
        "form-1",
    )
    assert (version.number, version.title, version.signers) == (1, "术后回访表", ["patient"])
    assert version.blocks[2]["options"] == ["无", "轻微", "明显"]
    assert version.created_by == world.boss
    assert AuditEntry.objects.filter(
        entity_type="forms.formtemplate", entity_id=str(template.pk), action="create"
    ).exists()


def test_a_refused_template_writes_nothing(world: World, in_org_a: object) -> None:
    bad = simple_template(name="", blocks=[{"type": "paragraph", "text": "{{x}}"}], signers=[])

    with pytest.raises(ValidationFailed) as caught:
        form_template_create(actor=world.boss, clinic=world.clinic1, data=bad)

    assert set(caught.value.fields) == {"name", "signers", "blocks.0.text"}
    assert not FormTemplate.objects.exists()


def test_codes_are_unique_in_the_organization(world: World, in_org_a: object) -> None:
    form_template_create(actor=world.boss, clinic=world.clinic1, data=simple_template(code="visit"))

    with pytest.raises(ValidationFailed) as caught:
        form_template_create(
            actor=world.boss, clinic=world.clinic1, data=simple_template(code="visit")
        )

    assert caught.value.fields == {"code": ["Another template has this code."]}


def test_saving_an_unused_version_edits_it_in_place(world: World, in_org_a: object) -> None:
    template = form_template_create(actor=world.boss, clinic=world.clinic1, data=simple_template())
    data = simple_template(name="术后回访", blocks=[{"type": "heading", "text": "术后第一天回访"}])

    latest = form_template_update(
        actor=world.boss, clinic=world.clinic1, template=template, data=data
    )

    template.refresh_from_db()
    assert template.name == "术后回访"
    assert latest.number == 1
    assert _versions(template) == [(1, "术后第一天回访")]


def test_saving_a_version_with_forms_makes_a_new_one_and_the_forms_keep_theirs(
    world: World, forms: Forms
) -> None:
    form = make_form(world, forms)
    with tenant_scope(world.org, world.clinic1):
        version = FormTemplateVersion.objects.get(template=forms.implant)
        blocks = [{"type": "paragraph", "text": "新版说明 {{patient.name}}"}, *version.blocks[1:]]
        data = simple_template(
            name="种植知情同意书", kind="consent", blocks=blocks, signers=version.signers
        )

        latest = form_template_update(
            actor=world.boss, clinic=world.clinic1, template=forms.implant, data=data
        )

        assert latest.number == 2
        assert [n for n, _text in _versions(forms.implant)] == [1, 2]
        form.refresh_from_db()
        assert form.version_id == version.pk
        version.refresh_from_db()
        assert version.blocks[0]["text"].startswith("患者姓名")  # untouched


def test_saving_the_same_wording_makes_no_new_version(world: World, forms: Forms) -> None:
    make_form(world, forms)
    with tenant_scope(world.org, world.clinic1):
        version = FormTemplateVersion.objects.get(template=forms.implant)
        data = simple_template(
            name="种植同意书",
            kind="consent",
            title=version.title,
            blocks=version.blocks,
            signers=version.signers,
            is_active=False,
        )

        latest = form_template_update(
            actor=world.boss, clinic=world.clinic1, template=forms.implant, data=data
        )

        assert latest.pk == version.pk
        forms.implant.refresh_from_db()
        assert (forms.implant.name, forms.implant.is_active) == ("种植同意书", False)


# --- defaults -------------------------------------------------------------------------------


def test_the_defaults_are_installed_once(world: World) -> None:
    first = form_templates_install_defaults(organization=world.org)
    again = form_templates_install_defaults(organization=world.org)

    assert [t.code for t in first] == [d.code for d in DEFAULT_TEMPLATES]
    assert again == []
    with tenant_scope(world.org):
        assert FormTemplate.objects.count() == len(DEFAULT_TEMPLATES)
    with tenant_scope(world.org_b):
        assert not FormTemplate.objects.exists()


def test_the_defaults_are_what_the_issue_asks_for(world: World) -> None:
    form_templates_install_defaults(organization=world.org)

    with tenant_scope(world.org):
        versions = {
            v.template.code: v for v in FormTemplateVersion.objects.select_related("template")
        }
    assert set(versions) == {
        "implant-consent",
        "extraction-consent",
        "ortho-consent",
        "health-questionnaire",
        "prescription",
    }
    for code in ("implant-consent", "extraction-consent", "ortho-consent"):
        assert versions[code].signers == ["patient", "doctor", "seal"]
        assert versions[code].template.kind == "consent"
        text = "".join(b.get("text", "") for b in versions[code].blocks)
        for part in ("风险", "其他可选择", "费用", "患者声明"):
            assert part in text, (code, part)
    assert versions["prescription"].signers == ["doctor"]
    kinds = {b["key"]: b["kind"] for b in versions["health-questionnaire"].blocks if "key" in b}
    for key in ("heart_disease", "hypertension", "diabetes", "bleeding_disorder"):
        assert kinds[key] == "checkbox"
    for key in ("allergy", "medication", "pregnancy"):
        assert kinds[key] == "choice"


def test_an_edited_default_is_left_alone(world: World) -> None:
    form_templates_install_defaults(organization=world.org)
    with tenant_scope(world.org):
        FormTemplate.objects.filter(code="prescription").update(name="处方")
        FormTemplateVersion.objects.filter(template__code="ortho-consent").delete()
        FormTemplate.objects.filter(code="ortho-consent").delete()

    added = form_templates_install_defaults(organization=world.org)

    assert [t.code for t in added] == ["ortho-consent"]
    with tenant_scope(world.org):
        assert FormTemplate.objects.get(code="prescription").name == "处方"


def test_migration_0003_installs_the_defaults_in_existing_organizations(world: World) -> None:
    migration = importlib.import_module("chairside.forms.migrations.0003_install_default_templates")
    late = organization_create(slug="late", name="Late Chain")
    form_templates_install_defaults(organization=world.org)

    state = MigrationLoader(connection).project_state(("forms", "0003_install_default_templates"))

    migration.install(state.apps, None)
    migration.install(state.apps, None)

    for organization in (world.org, world.org_b, late):
        with tenant_scope(organization):
            assert sorted(FormTemplate.objects.values_list("code", flat=True)) == sorted(
                d.code for d in DEFAULT_TEMPLATES
            )
            assert FormTemplateVersion.objects.count() == len(DEFAULT_TEMPLATES)
