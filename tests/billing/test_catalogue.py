"""The service catalogue: HQ keeps the list, clinics their own prices; search by code, name
and pinyin with each item's price at the acting clinic in one query; the demo price list."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.billing.demo import (
    BONUS_RULES,
    CATALOGUE,
    demo_bonus_rules_install,
    demo_catalogue_install,
)
from chairside.billing.models import CatalogueItem, Category, ClinicPrice, TopUpBonusRule, Unit
from chairside.billing.selectors.catalogue import (
    catalogue_list,
    get_catalogue_item,
    price_at,
)
from chairside.billing.services import catalogue as services
from chairside.billing.services.catalogue import catalogue_rights
from chairside.core.errors import NotFound, PermissionDenied, ValidationFailed
from chairside.core.models import AuditEntry, Role, Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from tests.billing.conftest import Shop
from tests.conftest import PASSWORD, World

D = Decimal
pytestmark = pytest.mark.usefixtures("in_clinic1")


@pytest.fixture
def pricer(world: World) -> Staff:
    """A clinic-1 manager who may set clinic 1's prices (billing.catalogue in clinic 1)."""
    Role.objects.create(
        code="pricer", name="定价", permissions=["billing.view", "billing.catalogue"]
    )
    return staff_create(
        organization=world.org,
        username="pricer",
        display_name="Pricer",
        password=PASSWORD,
        roles=[("pricer", world.clinic1)],
    )


def _create(world: World, **overrides: object) -> CatalogueItem:
    values: dict[str, object] = {
        "code": "crown-zr",
        "name": "全瓷冠（氧化锆）",
        "category": Category.RESTORATIVE,
        "unit": Unit.PER_TOOTH,
        "price": D("3800"),
    }
    values.update(overrides)
    return services.catalogue_item_create(actor=world.boss, clinic=world.hq, **values)  # type: ignore[arg-type]


def test_hq_adds_an_item_with_pinyin_keys_and_an_audit_entry(world: World, shop: Shop) -> None:
    item = _create(world, code=" Crown-ZR ", insurance_code=" 310511 ")
    assert (item.code, item.price, item.insurance_code) == ("crown-zr", D("3800.00"), "310511")
    assert item.name_pinyin == "quanciguanyanghuagao qcgyhg"
    assert item.is_insured
    assert item.is_active
    entry = AuditEntry.objects.get(entity_type="billing.catalogueitem", entity_id=str(item.pk))
    assert entry.action == "create"
    assert entry.clinic == world.hq
    assert entry.actor == world.boss


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "scaling"}, "code", "The code scaling is already used by 洁治."),
        ({"code": ""}, "code", "Enter a code."),
        ({"code": "牙冠"}, "code", "Use only Latin letters"),
        ({"name": "  "}, "name", "Enter the name of the service."),
        ({"price": D("-1")}, "price", "A price cannot be negative."),
        ({"price": "abc"}, "price", "Enter a price such as 120 or 99.50."),
        ({"price": D("10000000000")}, "price", "This price is too large."),
        ({"category": "magic"}, "category", "Choose a category."),
        ({"unit": "kg"}, "unit", "Choose a unit."),
    ],
)
def test_invalid_items_are_refused_with_clear_messages(
    world: World, shop: Shop, overrides: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as e:
        _create(world, **overrides)
    assert field in e.value.fields
    assert str(e.value.fields[field][0]).startswith(message)
    assert not CatalogueItem.objects.filter(code="crown-zr").exists()


def test_prices_are_rounded_half_up_to_the_fen(world: World) -> None:
    assert _create(world, price="99.995").price == D("100.00")


def test_only_hq_changes_the_list(world: World, shop: Shop, pricer: Staff) -> None:
    assert catalogue_rights(world.boss).manages_list
    rights = catalogue_rights(pricer)
    assert not rights.manages_list
    assert rights.price_clinic_ids == {world.clinic1.pk}
    assert catalogue_rights(world.frontdesk).price_clinic_ids == frozenset()
    with pytest.raises(PermissionDenied):
        services.catalogue_item_create(
            actor=pricer,
            clinic=world.clinic1,
            code="x",
            name="X",
            category=Category.BASIC,
            unit=Unit.PER_ITEM,
            price=D("1"),
        )
    with pytest.raises(PermissionDenied):
        services.catalogue_item_update(
            actor=pricer, clinic=world.clinic1, item=shop.cleaning, price=D("1")
        )
    with pytest.raises(PermissionDenied):
        services.catalogue_item_set_active(
            actor=pricer, clinic=world.clinic1, item=shop.cleaning, is_active=False
        )


def test_an_update_records_what_changed(world: World, shop: Shop) -> None:
    item = services.catalogue_item_update(
        actor=world.boss, clinic=world.hq, item=shop.cleaning, name="全口洁治", price="220"
    )
    assert (item.name, item.price, item.name_pinyin) == (
        "全口洁治",
        D("220.00"),
        "quankoujiezhi qkjz",
    )
    entry = AuditEntry.objects.filter(
        entity_type="billing.catalogueitem", entity_id=str(item.pk), action="update"
    ).get()
    assert entry.before == {"name": "洁治", "name_pinyin": "", "price": "200.00"}
    assert entry.after == {
        "name": "全口洁治",
        "name_pinyin": "quankoujiezhi qkjz",
        "price": "220.00",
    }
    # Nothing changed, nothing recorded.
    services.catalogue_item_update(actor=world.boss, clinic=world.hq, item=item, price="220.00")
    assert AuditEntry.objects.filter(entity_id=str(item.pk), action="update").count() == 1
    with pytest.raises(ValidationFailed):
        services.catalogue_item_update(
            actor=world.boss, clinic=world.hq, item=item, is_active=False
        )
    with pytest.raises(ValidationFailed) as e:
        services.catalogue_item_update(actor=world.boss, clinic=world.hq, item=item, code="reg")
    assert "code" in e.value.fields


def test_retiring_and_bringing_back(world: World, shop: Shop) -> None:
    services.catalogue_item_set_active(
        actor=world.boss, clinic=world.hq, item=shop.cleaning, is_active=False
    )
    assert not CatalogueItem.objects.get(pk=shop.cleaning.pk).is_active
    assert shop.cleaning not in catalogue_list(clinic=world.clinic1)
    assert shop.cleaning in catalogue_list(clinic=world.clinic1, active=False)
    services.catalogue_item_set_active(
        actor=world.boss, clinic=world.hq, item=shop.cleaning, is_active=True
    )
    assert AuditEntry.objects.filter(entity_id=str(shop.cleaning.pk), action="update").count() == 2


def test_a_clinic_sets_and_clears_its_own_price(world: World, shop: Shop, pricer: Staff) -> None:
    override = services.clinic_price_set(
        actor=pricer,
        clinic=world.clinic1,
        item=shop.filling,
        price_clinic=world.clinic1,
        price="280",
    )
    assert override.price == D("280.00")
    assert price_at(shop.filling, world.clinic1) == D("280.00")
    assert price_at(shop.filling, world.clinic2) == D("300.00")
    services.clinic_price_set(
        actor=pricer,
        clinic=world.clinic1,
        item=shop.filling,
        price_clinic=world.clinic1,
        price="260",
    )
    assert ClinicPrice.objects.get(item=shop.filling, clinic=world.clinic1).price == D("260.00")
    with pytest.raises(PermissionDenied):
        services.clinic_price_set(
            actor=pricer,
            clinic=world.clinic1,
            item=shop.filling,
            price_clinic=world.clinic2,
            price="250",
        )
    with pytest.raises(PermissionDenied):
        services.clinic_price_clear(
            actor=pricer, clinic=world.clinic1, item=shop.cleaning, price_clinic=world.clinic2
        )
    with pytest.raises(ValidationFailed):
        services.clinic_price_set(
            actor=world.boss, clinic=world.hq, item=shop.filling, price_clinic=world.hq, price="1"
        )
    with pytest.raises(ValidationFailed):
        services.clinic_price_set(
            actor=pricer,
            clinic=world.clinic1,
            item=shop.filling,
            price_clinic=world.clinic1,
            price="-1",
        )
    assert services.clinic_price_clear(
        actor=pricer, clinic=world.clinic1, item=shop.filling, price_clinic=world.clinic1
    )
    assert not services.clinic_price_clear(
        actor=pricer, clinic=world.clinic1, item=shop.filling, price_clinic=world.clinic1
    )
    assert price_at(shop.filling, world.clinic1) == D("300.00")
    actions = list(
        AuditEntry.objects.filter(entity_type="billing.clinicprice")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


# --- search ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("", {"reg", "scaling", "filling", "pano", "implant"}),
        ("sca", {"scaling"}),
        ("FILL", {"filling"}),
        ("树脂", {"filling"}),
        ("shuzhi", {"filling"}),
        ("szct", {"filling"}),
        ("chongtian", {"filling"}),
        ("yb-01", {"pano"}),
        ("全景", {"pano"}),
        ("zzz", set()),
    ],
)
def test_search_by_code_name_pinyin_initials_and_insurance_code(
    world: World, shop: Shop, query: str, codes: set[str]
) -> None:
    # The conftest items were written directly; give them their pinyin keys.
    for item in CatalogueItem.objects.all():
        services.catalogue_item_update(
            actor=world.boss, clinic=world.hq, item=item, name=item.name + " "
        )
    assert {i.code for i in catalogue_list(clinic=world.clinic1, query=query)} == codes


def test_category_filter_and_prices_at_the_clinic_in_one_query(world: World, shop: Shop) -> None:
    with CaptureQueriesContext(connection) as queries:
        at_clinic2 = {
            i.code: (i.price_here, i.clinic_price) for i in catalogue_list(clinic=world.clinic2)
        }
    assert len(queries) == 1
    assert at_clinic2["scaling"] == (D("180.00"), D("180.00"))
    assert at_clinic2["filling"] == (D("300.00"), None)
    basic = catalogue_list(clinic=world.clinic1, category=Category.BASIC)
    assert [(i.code, i.price_here) for i in basic] == [("scaling", D("200.00"))]


def test_an_item_of_another_organization_is_not_found(world: World, shop: Shop) -> None:
    with pytest.raises(NotFound):
        get_catalogue_item(item_id=shop.item_b.pk)
    item = get_catalogue_item(item_id=shop.cleaning.pk, clinic=world.clinic1)
    assert [(p.clinic_id, p.price) for p in item.clinic_prices.all()] == [
        (world.clinic2.pk, D("180.00"))
    ]


# --- demo -----------------------------------------------------------------------------


def test_demo_catalogue_covers_every_category_and_installs_once(world: World) -> None:
    with tenant_scope(world.org):
        added = demo_catalogue_install(organization=world.org, actor=world.boss)
        assert added == len(CATALOGUE)
        assert 50 <= added <= 80
        assert demo_catalogue_install(organization=world.org, actor=world.boss) == 0
        items = list(CatalogueItem.objects.all())
        assert {i.category for i in items} == set(Category.values)
        assert {i.unit for i in items} >= {Unit.PER_TOOTH, Unit.PER_ARCH, Unit.PER_VISIT}
        by_code = {i.code: i for i in items}
        for insured in ("reg-general", "extraction", "composite-filling", "panoramic-xray"):
            assert by_code[insured].is_insured
        assert not by_code["implant-straumann"].is_insured
        assert by_code["root-canal-molar"].price > by_code["root-canal"].price
        assert all(i.name_pinyin for i in items)
        added_rules = demo_bonus_rules_install(organization=world.org, actor=world.boss)
        assert added_rules == len(BONUS_RULES) == 3
        assert demo_bonus_rules_install(organization=world.org, actor=world.boss) == 0
        assert sorted((r.threshold, r.bonus) for r in TopUpBonusRule.objects.all()) == [
            (D("1000.00"), D("100.00")),
            (D("3000.00"), D("400.00")),
            (D("5000.00"), D("800.00")),
        ]
