"""Template versions under concurrency, on PostgreSQL with real threads: forms made while
the template is being changed keep exactly the wording they were made with (a version is
never edited once a form uses it)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from chairside.core.tenancy import tenant_scope
from chairside.forms.models import FormInstance, FormTemplateVersion
from chairside.forms.services.instances import form_instance_create
from chairside.forms.services.templates import form_template_create, form_template_update
from tests.concurrency import run_concurrently
from tests.conftest import World
from tests.forms.conftest import Forms, simple_template

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_forms_made_while_the_template_changes_keep_their_wording(
    world: World, forms: Forms
) -> None:
    assert connection.vendor == "postgresql"
    with tenant_scope(world.org, world.clinic1):
        template = form_template_create(
            actor=world.boss, clinic=world.clinic1, data=simple_template()
        )

    def act(i: int) -> Any:
        with tenant_scope(world.org, world.clinic1):
            if i % 2:
                blocks = simple_template().blocks
                blocks[0] = {"type": "heading", "text": f"第{i}版"}
                return form_template_update(
                    actor=world.boss,
                    clinic=world.clinic1,
                    template=template,
                    data=simple_template(blocks=blocks),
                )
            instance = form_instance_create(
                actor=world.frontdesk,
                clinic=world.clinic1,
                template=template,
                patient=forms.patient,
            )
            return (instance.pk, instance.version.blocks[0]["text"])

    results = run_concurrently(act, 16)

    made = [r for r in results if isinstance(r, tuple)]
    assert len(made) == 8, results
    assert all(isinstance(r, FormTemplateVersion) for r in results[1::2]), results
    with tenant_scope(world.org):
        for pk, seen in made:
            instance = FormInstance.objects.select_related("version").get(pk=pk)
            assert instance.version.blocks[0]["text"] == seen
        numbers = list(
            FormTemplateVersion.objects.filter(template=template)
            .order_by("number")
            .values_list("number", flat=True)
        )
    assert numbers == list(range(1, len(numbers) + 1))
