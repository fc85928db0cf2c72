"""Billing fixtures: a stopped clock, a small catalogue, patients and cashier staff.

The clock stands at Monday 2026-09-14 10:00 in Shanghai (tests move it with
`clock.set(...)`). `shop` gives organization A's catalogue (list prices, one clinic-2
override, an insured item, an item without member discounts, a retired item), patients
at clinic 1 and 2, a clinic manager (approves discounts and refunds) and a front desk of
clinic 2; plus organization B's own item and patient for isolation tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from chairside.billing.models import Bill, CatalogueItem, Category, ClinicPrice, Unit
from chairside.billing.services.bills import bill_confirm, bill_create, bill_line_add
from chairside.core.models import Clinic, Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.clock import SHANGHAI, Clock, stop_clock
from tests.conftest import PASSWORD, World

NOW = datetime(2026, 9, 14, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in their English source text, whatever the default language.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return stop_clock(monkeypatch, NOW)


@dataclass
class Shop:
    """Organization A's catalogue, patients and cashier staff; B's item and patient."""

    registration: CatalogueItem  # registration, ¥20 per visit
    cleaning: CatalogueItem  # basic, ¥200 (¥180 at clinic 2)
    filling: CatalogueItem  # restorative, ¥300 per tooth
    xray: CatalogueItem  # imaging, ¥50, insured (医保 code)
    implant: CatalogueItem  # implant, ¥8000, no member discounts
    retired: CatalogueItem  # inactive
    zhang: Patient  # registered at clinic 1
    li: Patient  # registered at clinic 1
    wang: Patient  # registered at clinic 2
    manager: Staff  # clinic manager of clinic 1 (approves discounts and refunds, closes)
    frontdesk2: Staff  # front desk of clinic 2 only
    item_b: CatalogueItem  # organization B
    patient_b: Patient  # organization B


def _item(code: str, name: str, category: str, price: str, **extra: object) -> CatalogueItem:
    return CatalogueItem.objects.create(
        code=code, name=name, category=category, price=Decimal(price), **extra
    )


@pytest.fixture
def shop(world: World) -> Shop:
    with tenant_scope(world.org, world.clinic1):
        registration = _item("reg", "挂号费", Category.REGISTRATION, "20.00", unit=Unit.PER_VISIT)
        cleaning = _item("scaling", "洁治", Category.BASIC, "200.00", unit=Unit.PER_VISIT)
        ClinicPrice.objects.create(item=cleaning, clinic=world.clinic2, price=Decimal("180.00"))
        filling = _item("filling", "树脂充填", Category.RESTORATIVE, "300.00", unit=Unit.PER_TOOTH)
        xray = _item(
            "pano",
            "全景片",
            Category.IMAGING,
            "50.00",
            insurance_code="YB-0101",
            unit=Unit.PER_ITEM,
        )
        implant = _item(
            "implant",
            "种植体植入",
            Category.IMPLANT,
            "8000.00",
            unit=Unit.PER_TOOTH,
            member_discount_allowed=False,
        )
        retired = _item("old", "旧项目", Category.BASIC, "10.00", is_active=False)
        zhang = patient_create(actor=world.boss, clinic=world.clinic1, name="张三")
        li = patient_create(actor=world.boss, clinic=world.clinic1, name="李四")
        wang = patient_create(actor=world.boss, clinic=world.clinic2, name="王五")
        manager = staff_create(
            organization=world.org,
            username="manager",
            display_name="Manager",
            password=PASSWORD,
            roles=[("clinic_manager", world.clinic1)],
        )
        frontdesk2 = staff_create(
            organization=world.org,
            username="frontdesk2",
            display_name="Front Desk 2",
            password=PASSWORD,
            roles=[("front_desk", world.clinic2)],
        )
    with tenant_scope(world.org_b, world.clinic_b):
        item_b = _item("b-scaling", "B 洁治", Category.BASIC, "150.00")
        patient_b = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="赵六")
    return Shop(
        registration,
        cleaning,
        filling,
        xray,
        implant,
        retired,
        zhang,
        li,
        wang,
        manager,
        frontdesk2,
        item_b,
        patient_b,
    )


@pytest.fixture
def in_clinic1(world: World) -> Iterator[Clinic]:
    with tenant_scope(world.org, world.clinic1):
        yield world.clinic1


def make_bill(
    world: World,
    patient: Patient,
    lines: list[tuple[CatalogueItem, int]],
    *,
    clinic: Clinic | None = None,
    confirm: bool = True,
    actor: Staff | None = None,
) -> Bill:
    """A bill with `lines` (item, quantity) at clinic 1 (or `clinic`), confirmed by default.

    Call inside the organization's tenant scope (e.g. the `in_clinic1` fixture)."""
    clinic = clinic or world.clinic1
    actor = actor or world.frontdesk
    bill = bill_create(actor=actor, clinic=clinic, patient=patient)
    for item, quantity in lines:
        bill_line_add(actor=actor, clinic=clinic, bill=bill, item=item, quantity=quantity)
    if confirm:
        bill = bill_confirm(actor=actor, clinic=clinic, bill=bill)
    bill.refresh_from_db()
    return bill
