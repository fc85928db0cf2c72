"""Record templates: the default one per visit type (idempotent, per organization), and
creating, editing and deactivating templates, every change audited."""

from __future__ import annotations

import pytest

from chairside.clinical.models import RecordTemplate, VisitType
from chairside.clinical.services.record_templates import (
    DEFAULT_TEMPLATES,
    record_template_create,
    record_template_deactivate,
    record_template_update,
    record_templates_install_defaults,
)
from chairside.clinical.services.records import record_create
from chairside.core.errors import ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from tests.clinical.conftest import Clin
from tests.conftest import World


def test_defaults_give_one_chinese_template_per_visit_type(world: World) -> None:
    created = record_templates_install_defaults(organization=world.org)  # outside any scope

    assert sorted(t.visit_type for t in created) == sorted(VisitType.values)
    with tenant_scope(world.org):
        names = dict(RecordTemplate.objects.values_list("visit_type", "name"))
    assert names == {
        "first_visit": "初诊病历",
        "follow_up": "复诊病历",
        "orthodontic": "正畸病历",
        "implant": "种植病历",
        "extraction": "拔牙病历",
        "cleaning": "洁牙病历",
    }
    extraction = next(t for t in created if t.visit_type == "extraction")
    assert "松动" in extraction.sections["complaint"]
    assert "术前告知" in extraction.sections["treatment"]
    assert extraction.sections["advice"].startswith("1. 咬棉球30分钟，24小时内勿漱口刷牙")
    assert "diagnosis" not in extraction.sections  # the doctor writes it


def test_defaults_are_idempotent_and_leave_edited_templates_alone(world: World) -> None:
    record_templates_install_defaults(organization=world.org)
    with tenant_scope(world.org, world.clinic1):
        template = RecordTemplate.objects.get(visit_type="cleaning")
        record_template_update(
            actor=world.boss, clinic=world.clinic1, template=template, sections={"advice": "自定义"}
        )
        again = record_templates_install_defaults(organization=world.org)  # inside the scope
        assert again == []
        assert RecordTemplate.objects.count() == len(DEFAULT_TEMPLATES)
        assert RecordTemplate.objects.get(visit_type="cleaning").sections == {"advice": "自定义"}


def test_each_organization_gets_its_own(world: World) -> None:
    record_templates_install_defaults(organization=world.org)
    record_templates_install_defaults(organization=world.org_b)

    assert RecordTemplate.all_tenants.filter(organization=world.org).count() == 6
    assert RecordTemplate.all_tenants.filter(organization=world.org_b).count() == 6


@pytest.mark.usefixtures("in_clinic1")
def test_create_update_and_deactivate_are_audited(world: World, clin: Clin) -> None:
    template = record_template_create(
        actor=world.boss,
        clinic=world.clinic1,
        visit_type="implant",
        name="种植二期",
        sections={"complaint": "种植二期复诊", "advice": ""},
    )
    assert template.sections == {"complaint": "种植二期复诊"}

    record_template_update(
        actor=world.boss, clinic=world.clinic1, template=template, name="二期手术"
    )
    record_template_deactivate(actor=world.boss, clinic=world.clinic1, template=template)

    template.refresh_from_db()
    assert (template.name, template.is_active) == ("二期手术", False)
    actions = list(
        AuditEntry.objects.filter(entity_type="clinical.recordtemplate", entity_id=str(template.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "update"]


@pytest.mark.usefixtures("in_clinic1")
def test_bad_templates_are_refused(world: World, clin: Clin) -> None:
    record_templates_install_defaults(organization=world.org)
    base = {"actor": world.boss, "clinic": world.clinic1}
    with pytest.raises(ValidationFailed) as error:
        record_template_create(**base, visit_type="extraction", name="拔牙病历", sections={})
    assert "name" in error.value.fields
    with pytest.raises(ValidationFailed):
        record_template_create(**base, visit_type="surgery", name="x", sections={})
    with pytest.raises(ValidationFailed):
        record_template_create(**base, visit_type="implant", name=" ", sections={})
    with pytest.raises(ValidationFailed):
        record_template_create(**base, visit_type="implant", name="x", sections={"plan": "y"})


@pytest.mark.usefixtures("in_clinic1")
def test_a_new_record_uses_the_active_template_and_keeps_its_text_when_the_template_changes(
    world: World, clin: Clin
) -> None:
    from chairside.clinical.models import RecordVersion
    from chairside.clinical.rendering import version_content

    [first] = [
        t
        for t in record_templates_install_defaults(organization=world.org)
        if t.visit_type == "follow_up"
    ]
    record_template_deactivate(actor=world.boss, clinic=world.clinic1, template=first)
    second = record_template_create(
        actor=world.boss,
        clinic=world.clinic1,
        visit_type="follow_up",
        name="根管复诊",
        sections={"treatment": "根管预备"},
    )

    record = record_create(
        actor=world.doctor, clinic=world.clinic1, patient=clin.zhang, visit_type="follow_up"
    )
    record_template_update(
        actor=world.boss, clinic=world.clinic1, template=second, sections={"treatment": "改了"}
    )

    assert record.template == second
    content = version_content(RecordVersion.objects.get(record=record))
    assert content.section("treatment") == "根管预备"
    with pytest.raises(ValidationFailed):  # an inactive template is not offered
        record_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.zhang,
            visit_type="follow_up",
            template=first,
        )
