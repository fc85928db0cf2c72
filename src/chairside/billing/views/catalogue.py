"""Pages of the service catalogue: the list (search, category, status, each item's price
here), adding an item (HQ), and an item's page with its form (HQ) and the clinics' own
prices (HQ for every clinic, a clinic-level grant for its own clinics)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from chairside.billing.forms.catalogue import CatalogueItemForm, ClinicPriceForm, attach_errors
from chairside.billing.models import CatalogueItem, Category
from chairside.billing.selectors.catalogue import catalogue_list, get_catalogue_item
from chairside.billing.services import catalogue as services
from chairside.billing.services.catalogue import CatalogueRights, catalogue_rights
from chairside.core.console import ConsoleRequest, console_page, forbidden, page_number
from chairside.core.errors import DomainError
from chairside.core.models import Clinic
from chairside.core.pagination import paginate

PAGE_SIZE = 30
STATUSES = ("active", "inactive", "all")


@require_safe
@console_page("billing.view")
def catalogue_index(request: ConsoleRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:50]
    category = request.GET.get("category", "")
    if category not in Category.values:
        category = ""
    status = request.GET.get("status", "active")
    if status not in STATUSES:
        status = "active"
    items = catalogue_list(
        clinic=request.access.clinic,
        query=query,
        category=category or None,
        active={"active": True, "inactive": False}.get(status),
    )
    page = paginate(items, page=page_number(request.GET.get("page")), page_size=PAGE_SIZE)
    filters = {"q": query, "category": category, "status": status}
    rights = (
        catalogue_rights(request.access.staff)
        if request.access.can("billing.catalogue")
        else CatalogueRights(manages_list=False, price_clinic_ids=frozenset())
    )
    context = {
        "page": page,
        "items": page.items,
        "filters": filters,
        "categories": Category.choices,
        "statuses": [
            ("active", _("Active")),
            ("inactive", _("Retired")),
            ("all", _("All")),
        ],
        "querystring": urlencode({k: v for k, v in filters.items() if v}),
        "can_add": rights.manages_list,
        "can_edit": rights.manages_list or bool(rights.price_clinic_ids),
    }
    return render(request, "billing/catalogue.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("billing.catalogue")
def catalogue_create(request: ConsoleRequest) -> HttpResponse:
    if not catalogue_rights(request.access.staff).manages_list:
        return forbidden(request, "billing.catalogue")
    if request.method != "POST":
        form = CatalogueItemForm()
        return render(request, "billing/catalogue_form.html", {"form": form, "item": None})
    form = CatalogueItemForm(request.POST)
    if form.is_valid():
        try:
            item = services.catalogue_item_create(
                actor=request.access.staff, clinic=request.access.clinic, **form.service_values()
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(
                request, _("%(name)s is added to the catalogue.") % {"name": item.name}
            )
            return redirect("billing:catalogue_edit", item_id=item.pk)
    return render(request, "billing/catalogue_form.html", {"form": form, "item": None}, status=400)


def _price_clinics(rights: CatalogueRights) -> list[Clinic]:
    clinics = Clinic.objects.filter(kind=Clinic.Kind.CLINIC, is_active=True).order_by("id")
    return [c for c in clinics if rights.may_price(c)]


def _edit_page(
    request: ConsoleRequest,
    item: CatalogueItem,
    rights: CatalogueRights,
    *,
    form: CatalogueItemForm | None = None,
    price_form: ClinicPriceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    clinics = _price_clinics(rights)
    if form is None:
        form = CatalogueItemForm(item=item)
    if price_form is None:
        initial_clinic = (
            request.access.clinic.pk
            if any(c.pk == request.access.clinic.pk for c in clinics)
            else None
        )
        price_form = ClinicPriceForm(clinics=clinics, initial={"clinic": initial_clinic})
    context = {
        "item": item,
        "form": form,
        "price_form": price_form,
        "can_edit_item": rights.manages_list,
        "can_price": bool(clinics),
        "may_price_ids": {c.pk for c in clinics},
        "clinic_prices": list(item.clinic_prices.all()),
    }
    return render(request, "billing/catalogue_form.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("billing.catalogue")
def catalogue_edit(request: ConsoleRequest, item_id: int) -> HttpResponse:
    item = get_catalogue_item(item_id=item_id, clinic=request.access.clinic)
    rights = catalogue_rights(request.access.staff)
    if not rights.manages_list and not rights.price_clinic_ids:
        return forbidden(request, "billing.catalogue")
    if request.method != "POST":
        return _edit_page(request, item, rights)
    action = request.POST.get("action", "save")
    if action in ("save", "retire", "restore") and not rights.manages_list:
        return forbidden(request, "billing.catalogue")
    actor, clinic = request.access.staff, request.access.clinic
    here = reverse("billing:catalogue_edit", kwargs={"item_id": item.pk})
    try:
        if action == "save":
            form = CatalogueItemForm(request.POST, item=item)
            if not form.is_valid():
                return _edit_page(request, item, rights, form=form, status=400)
            try:
                services.catalogue_item_update(
                    actor=actor, clinic=clinic, item=item, **form.service_values()
                )
            except DomainError as e:
                attach_errors(form, e)
                return _edit_page(request, item, rights, form=form, status=e.status)
            messages.success(request, _("The item is saved."))
        elif action in ("retire", "restore"):
            services.catalogue_item_set_active(
                actor=actor, clinic=clinic, item=item, is_active=action == "restore"
            )
            messages.success(
                request,
                _("The item is back in the catalogue.")
                if action == "restore"
                else _("The item is retired; it can no longer be charged."),
            )
        elif action in ("price", "clear_price"):
            price_form = ClinicPriceForm(request.POST, clinics=_price_clinics(rights))
            if not price_form.is_valid():
                return _edit_page(request, item, rights, price_form=price_form, status=400)
            target = price_form.chosen_clinic()
            try:
                if action == "price":
                    services.clinic_price_set(
                        actor=actor,
                        clinic=clinic,
                        item=item,
                        price_clinic=target,
                        price=price_form.price_text(),
                    )
                    messages.success(
                        request, _("%(clinic)s now has its own price.") % {"clinic": target.name}
                    )
                else:
                    services.clinic_price_clear(
                        actor=actor, clinic=clinic, item=item, price_clinic=target
                    )
                    messages.success(
                        request,
                        _("%(clinic)s charges the list price again.") % {"clinic": target.name},
                    )
            except DomainError as e:
                attach_errors(price_form, e)
                return _edit_page(request, item, rights, price_form=price_form, status=e.status)
    except DomainError as e:
        if e.status == 403:
            return forbidden(request, "billing.catalogue")
        messages.error(request, str(e.message))
    return redirect(here)


urlpatterns = [
    path("catalogue/", catalogue_index, name="catalogue"),
    path("catalogue/new/", catalogue_create, name="catalogue_create"),
    path("catalogue/<int:item_id>/", catalogue_edit, name="catalogue_edit"),
]
