"""Writes to the service catalogue (B1): HQ keeps the organization's list of items and list
prices; a clinic may charge its own price for an item. Every write is audited.

Permission to reach these actions (billing.catalogue) is checked by the pages and the API;
the services add the scope: the list itself is HQ's (an organization-wide grant), a
clinic-level grant covers only the prices of the clinics it is granted in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import CatalogueItem, Category, ClinicPrice, Unit
from chairside.core.audit import audit_record, changed_fields, snapshot
from chairside.core.errors import (
    Conflict,
    DomainError,
    FieldErrors,
    PermissionDenied,
    ValidationFailed,
)
from chairside.core.models import AuditEntry, Clinic, Staff, StaffRole
from chairside.core.money import quantize_money
from chairside.core.pinyin import pinyin_keys

CATALOGUE_PERMISSION = "billing.catalogue"
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Decimal(12, 2): ten digits before the point.
MAX_PRICE = Decimal("9999999999.99")
EDITABLE_FIELDS = frozenset(
    {"code", "name", "category", "unit", "price", "insurance_code", "member_discount_allowed"}
)


@dataclass(frozen=True)
class CatalogueRights:
    """What a staff member may change: the organization's list (HQ), or the prices of
    some clinics."""

    manages_list: bool
    price_clinic_ids: frozenset[int]

    def may_price(self, clinic: Clinic) -> bool:
        return self.manages_list or clinic.pk in self.price_clinic_ids


def catalogue_rights(staff: Staff) -> CatalogueRights:
    """The list is kept by whoever holds billing.catalogue for the whole organization (an
    HQ role, or a grant for every clinic); a grant in one clinic covers that clinic's prices."""
    grants = StaffRole.objects.filter(staff=staff).select_related("role")
    org_wide = False
    clinic_ids: set[int] = set()
    for grant in grants:
        if CATALOGUE_PERMISSION not in (grant.role.permissions or []):
            continue
        if grant.clinic_id is None or grant.role.spans_organization:
            org_wide = True
        else:
            clinic_ids.add(grant.clinic_id)
    return CatalogueRights(manages_list=org_wide, price_clinic_ids=frozenset(clinic_ids))


def clean_price(value: Any, errors: FieldErrors, field: str = "price") -> Decimal | None:
    """A price as money: two places, not negative, within what the column holds."""
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.add(field, _("Enter a price."))
        return None
    try:
        price = quantize_money(value.strip() if isinstance(value, str) else value)
    except (DomainError, TypeError):
        errors.add(field, _("Enter a price such as 120 or 99.50."))
        return None
    if price < 0:
        errors.add(field, _("A price cannot be negative."))
        return None
    if price > MAX_PRICE:
        errors.add(field, _("This price is too large."))
        return None
    return price


def _clean(values: dict[str, Any], errors: FieldErrors, *, item: CatalogueItem | None) -> None:
    """Validate and normalise item fields in place."""
    if "code" in values:
        code = (values["code"] or "").strip().lower()
        values["code"] = code
        if not code:
            errors.add("code", _("Enter a code."))
        elif len(code) > 40:
            errors.add("code", _("The code is too long (at most 40 characters)."))
        elif not _CODE.match(code):
            errors.add(
                "code",
                _("Use only Latin letters, digits, hyphens and underscores in the code."),
            )
        else:
            duplicates = CatalogueItem.objects.filter(code=code)
            if item is not None:
                duplicates = duplicates.exclude(pk=item.pk)
            existing = duplicates.first()
            if existing is not None:
                errors.add(
                    "code",
                    _("The code %(code)s is already used by %(name)s.")
                    % {"code": code, "name": existing.name},
                )
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            errors.add("name", _("Enter the name of the service."))
        elif len(values["name"]) > 100:
            errors.add("name", _("The name is too long (at most 100 characters)."))
    if "category" in values and values["category"] not in Category.values:
        errors.add("category", _("Choose a category."))
    if "unit" in values and values["unit"] not in Unit.values:
        errors.add("unit", _("Choose a unit."))
    if "price" in values:
        values["price"] = clean_price(values["price"], errors)
    if "insurance_code" in values:
        values["insurance_code"] = (values["insurance_code"] or "").strip()
        if len(values["insurance_code"]) > 40:
            errors.add(
                "insurance_code", _("The insurance code is too long (at most 40 characters).")
            )
    if "member_discount_allowed" in values:
        values["member_discount_allowed"] = bool(values["member_discount_allowed"])


def _apply_pinyin(item: CatalogueItem) -> None:
    full, initials = pinyin_keys(item.name)
    # Both keys in one column: "quankoujiezhi qkjz" matches "jiezhi" and "qkjz" alike.
    keys = f"{full} {initials}".strip()
    item.name_pinyin = keys[: CatalogueItem._meta.get_field("name_pinyin").max_length]


def _require_list_rights(actor: Staff) -> None:
    if not catalogue_rights(actor).manages_list:
        raise PermissionDenied(
            _("Only headquarters can change the catalogue; clinics can set their own prices.")
        )


def _save_unique(item: CatalogueItem) -> None:
    """Save the item; a code taken meanwhile (someone saved it a moment ago) is a conflict."""
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        raise Conflict(
            _("The code %(code)s is already used.") % {"code": item.code}, field="code"
        ) from None


@transaction.atomic
def catalogue_item_create(
    *,
    actor: Staff,
    clinic: Clinic,
    code: str,
    name: str,
    category: str,
    unit: str,
    price: Decimal | int | str,
    insurance_code: str = "",
    member_discount_allowed: bool = True,
) -> CatalogueItem:
    """Add a service to the organization's catalogue at its list price."""
    _require_list_rights(actor)
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "category": category,
        "unit": unit,
        "price": price,
        "insurance_code": insurance_code,
        "member_discount_allowed": member_discount_allowed,
    }
    errors = FieldErrors()
    _clean(values, errors, item=None)
    errors.raise_if_any()
    item = CatalogueItem(**values)
    _apply_pinyin(item)
    _save_unique(item)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=item,
        actor=actor,
        clinic=clinic,
        after=snapshot(item),
        summary=gettext("Catalogue item %(code)s added") % {"code": item.code},
    )
    return item


@transaction.atomic
def catalogue_item_update(
    *, actor: Staff, clinic: Clinic, item: CatalogueItem, **changes: Any
) -> CatalogueItem:
    """Change an item's code, name, category, unit, list price, 医保 code or whether member
    discounts apply. Bills already made keep what they copied."""
    _require_list_rights(actor)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    item = CatalogueItem.objects.select_for_update().get(pk=item.pk)
    errors = FieldErrors()
    _clean(changes, errors, item=item)
    errors.raise_if_any()
    before = snapshot(item)
    for field, value in changes.items():
        setattr(item, field, value)
    _apply_pinyin(item)
    after = snapshot(item)
    fields = [f for f in changed_fields(before, after) if f != "updated_at"]
    if not fields:
        return item
    _save_unique(item)
    after = snapshot(item)
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=item,
        actor=actor,
        clinic=clinic,
        before={k: before[k] for k in fields},
        after={k: after[k] for k in fields},
        summary=gettext("Catalogue item %(code)s changed") % {"code": item.code},
    )
    return item


@transaction.atomic
def catalogue_item_set_active(
    *, actor: Staff, clinic: Clinic, item: CatalogueItem, is_active: bool
) -> CatalogueItem:
    """Retire an item (no new charges or plan items use it) or bring it back."""
    _require_list_rights(actor)
    item = CatalogueItem.objects.select_for_update().get(pk=item.pk)
    if item.is_active == is_active:
        return item
    item.is_active = is_active
    item.save(update_fields=["is_active", "updated_at"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=item,
        actor=actor,
        clinic=clinic,
        before={"is_active": not is_active},
        after={"is_active": is_active},
        summary=(
            gettext("Catalogue item %(code)s brought back")
            if is_active
            else gettext("Catalogue item %(code)s retired")
        )
        % {"code": item.code},
    )
    return item


def _check_price_clinic(actor: Staff, price_clinic: Clinic) -> None:
    if price_clinic.kind != Clinic.Kind.CLINIC:
        raise ValidationFailed(
            _("Headquarters does not charge patients; set prices for clinics."),
            field="clinic",
        )
    if not catalogue_rights(actor).may_price(price_clinic):
        raise PermissionDenied(
            _("You can set prices only for the clinics you work in."), field="clinic"
        )


@transaction.atomic
def clinic_price_set(
    *,
    actor: Staff,
    clinic: Clinic,
    item: CatalogueItem,
    price_clinic: Clinic,
    price: Decimal | int | str,
) -> ClinicPrice:
    """Charge `price` for `item` at `price_clinic` instead of the list price."""
    _check_price_clinic(actor, price_clinic)
    errors = FieldErrors()
    cleaned = clean_price(price, errors)
    errors.raise_if_any()
    assert cleaned is not None
    override = (
        ClinicPrice.objects.select_for_update().filter(item=item, clinic=price_clinic).first()
    )
    if override is None:
        try:
            with transaction.atomic():
                override = ClinicPrice.objects.create(item=item, clinic=price_clinic, price=cleaned)
        except IntegrityError:
            # Set by someone else a moment ago: update theirs.
            override = ClinicPrice.objects.select_for_update().get(item=item, clinic=price_clinic)
        else:
            audit_record(
                action=AuditEntry.Action.CREATE,
                instance=override,
                actor=actor,
                clinic=clinic,
                after=snapshot(override),
                summary=gettext("Price of %(code)s at %(clinic)s set to %(price)s")
                % {"code": item.code, "clinic": price_clinic.name, "price": cleaned},
            )
            return override
    if override.price == cleaned:
        return override
    before = override.price
    override.price = cleaned
    override.save(update_fields=["price"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=override,
        actor=actor,
        clinic=clinic,
        before={"price": str(before)},
        after={"price": str(cleaned)},
        summary=gettext("Price of %(code)s at %(clinic)s set to %(price)s")
        % {"code": item.code, "clinic": price_clinic.name, "price": cleaned},
    )
    return override


@transaction.atomic
def clinic_price_clear(
    *, actor: Staff, clinic: Clinic, item: CatalogueItem, price_clinic: Clinic
) -> bool:
    """Go back to the list price at `price_clinic`; False if it had no price of its own."""
    _check_price_clinic(actor, price_clinic)
    override = (
        ClinicPrice.objects.select_for_update().filter(item=item, clinic=price_clinic).first()
    )
    if override is None:
        return False
    before = snapshot(override)
    # A price setting, not money: bills copied the price they charged.
    override.delete()
    override.pk = before["id"]
    audit_record(
        action=AuditEntry.Action.DELETE,
        instance=override,
        actor=actor,
        clinic=clinic,
        before=before,
        summary=gettext("Price of %(code)s at %(clinic)s back to the list price")
        % {"code": item.code, "clinic": price_clinic.name},
    )
    return True
