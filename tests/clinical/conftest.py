"""Clinical fixtures: patients, a second doctor, a nurse and catalogue items in organization A,
and a patient with a catalogue item in organization B for isolation tests.

Shared by the records (C1) and treatment plan (C2) tests. Catalogue items are created
directly so these fixtures do not depend on the billing services.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import translation

from chairside.billing.models import CatalogueItem, Category, Unit
from chairside.core.models import Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.conftest import PASSWORD, World


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in their English source text, whatever the default language.
    with translation.override("en"):
        yield


@dataclass
class Clin:
    """Organization A's clinical cast; `patient_b`/`filling_b` belong to organization B."""

    zhang: Patient  # registered at clinic 1
    li: Patient  # registered at clinic 1
    wang: Patient  # registered at clinic 2
    doctor: Staff  # Dr. Li, doctor of clinic 1 (world.doctor)
    doctor2: Staff  # Dr. Zhou, another doctor of clinic 1
    doctor_c2: Staff  # Dr. Wu, doctor of clinic 2 only
    nurse: Staff  # nurse of clinic 1: clinical.view and plans.view only
    filling: CatalogueItem  # per tooth, 300.00
    root_canal: CatalogueItem  # per tooth, 1200.00
    scaling: CatalogueItem  # per visit, 200.00, insured
    aligners: CatalogueItem  # per arch, 15000.00
    patient_b: Patient
    filling_b: CatalogueItem


def _item(
    code: str, name: str, category: str, unit: str, price: str, **extra: str
) -> CatalogueItem:
    item: CatalogueItem = CatalogueItem.objects.create(
        code=code, name=name, category=category, unit=unit, price=Decimal(price), **extra
    )
    return item


@pytest.fixture
def clin(world: World) -> Clin:
    with tenant_scope(world.org, world.clinic1):
        zhang = patient_create(actor=world.boss, clinic=world.clinic1, name="张三")
        li = patient_create(actor=world.boss, clinic=world.clinic1, name="李四")
        wang = patient_create(actor=world.boss, clinic=world.clinic2, name="王五")
        doctor2 = staff_create(
            organization=world.org,
            username="doctor2",
            display_name="Dr. Zhou",
            password=PASSWORD,
            roles=[("doctor", world.clinic1)],
        )
        doctor_c2 = staff_create(
            organization=world.org,
            username="doctor-c2",
            display_name="Dr. Wu",
            password=PASSWORD,
            roles=[("doctor", world.clinic2)],
        )
        nurse = staff_create(
            organization=world.org,
            username="nurse",
            display_name="Nurse Chen",
            password=PASSWORD,
            roles=[("nurse", world.clinic1)],
        )
        filling = _item("filling", "树脂充填", Category.RESTORATIVE, Unit.PER_TOOTH, "300.00")
        root_canal = _item("rct", "根管治疗", Category.ENDODONTIC, Unit.PER_TOOTH, "1200.00")
        scaling = _item(
            "scaling",
            "全口洁治",
            Category.PERIODONTAL,
            Unit.PER_VISIT,
            "200.00",
            insurance_code="330601001",
        )
        aligners = _item("aligners", "隐形矫治", Category.ORTHODONTICS, Unit.PER_ARCH, "15000.00")
    with tenant_scope(world.org_b, world.clinic_b):
        patient_b = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="赵六")
        filling_b = _item("filling", "树脂充填", Category.RESTORATIVE, Unit.PER_TOOTH, "280.00")
    return Clin(
        zhang=zhang,
        li=li,
        wang=wang,
        doctor=world.doctor,
        doctor2=doctor2,
        doctor_c2=doctor_c2,
        nurse=nurse,
        filling=filling,
        root_canal=root_canal,
        scaling=scaling,
        aligners=aligners,
        patient_b=patient_b,
        filling_b=filling_b,
    )


@pytest.fixture
def in_clinic1(world: World) -> Iterator[None]:
    with tenant_scope(world.org, world.clinic1):
        yield
