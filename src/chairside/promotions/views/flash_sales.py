"""Pages of flash sales (K3): the list by phase, setting a sale up or changing it, and a
sale's figures with its claims."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError
from chairside.core.models import Clinic
from chairside.core.pagination import paginate
from chairside.promotions.models import CouponTemplate, FlashSale, FlashSaleClaimStatus
from chairside.promotions.selectors import flash_sales as selectors
from chairside.promotions.services import flash_sales as services

PAGE_SIZE = 30
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _datetime_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )


class FlashSaleForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("flash sale", "Title"), max_length=100)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    template = forms.ModelChoiceField(
        label=gettext_lazy("Coupon sold"), queryset=CouponTemplate.all_tenants.none()
    )
    price = forms.DecimalField(
        label=gettext_lazy("Price (yuan)"), min_value=0, max_digits=12, decimal_places=2
    )
    stock = forms.IntegerField(label=gettext_lazy("Stock"), min_value=1, max_value=1_000_000)
    starts_at = _datetime_field(gettext_lazy("Starts at"))
    ends_at = _datetime_field(gettext_lazy("Ends at"))
    per_person_limit = forms.IntegerField(
        label=gettext_lazy("Limit per person"), min_value=1, max_value=99, initial=1
    )
    payment_minutes = forms.IntegerField(
        label=gettext_lazy("Payment window (minutes)"), min_value=1, max_value=1440, initial=15
    )
    clinics = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Clinics"),
        queryset=Clinic.all_tenants.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None chosen: every clinic."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, sale: FlashSale | None = None, **kwargs: Any) -> None:
        if sale is not None and "data" not in kwargs and not args:
            kwargs["initial"] = {
                "title": sale.title,
                "description": sale.description,
                "template": sale.template_id,
                "price": sale.price,
                "stock": sale.stock,
                "starts_at": sale.starts_at,
                "ends_at": sale.ends_at,
                "per_person_limit": sale.per_person_limit,
                "payment_minutes": sale.payment_minutes,
                "clinics": list(sale.clinics.all()),
                "is_active": sale.is_active,
            }
        super().__init__(*args, **kwargs)
        templates = CouponTemplate.objects.filter(is_active=True)
        if sale is not None:
            templates = CouponTemplate.objects.filter(
                is_active=True
            ) | CouponTemplate.objects.filter(pk=sale.template_id)
        self.fields["template"].queryset = templates.order_by("name", "pk")  # type: ignore[attr-defined]
        self.fields["clinics"].queryset = Clinic.objects.filter(  # type: ignore[attr-defined]
            kind=Clinic.Kind.CLINIC, is_active=True
        ).order_by("pk")

    def service_values(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        values["clinics"] = list(values["clinics"])
        return values


def attach_errors(form: forms.Form, error: DomainError) -> None:
    """A service's field errors at the fields they name; anything else above the form."""
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    aliases = {"template_id": "template", "clinic_ids": "clinics"}
    for name, problems in error.fields.items():
        field = aliases.get(name, name)
        target = field if field in form.fields else None
        for message in problems:
            form.add_error(target, str(message))


@require_safe
@console_page("promotions.view")
def flash_sale_list(request: ConsoleRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    phase = request.GET.get("phase", "all")
    if phase not in selectors.PHASES:
        phase = "all"
    sales = selectors.flash_sale_list(phase=phase, query=query)
    page = paginate(sales, page=page_number(request.GET.get("page")), page_size=PAGE_SIZE)
    filters = {"q": query, "phase": phase}
    context = {
        "page": page,
        "sales": page.items,
        "filters": filters,
        "phases": [
            ("all", _("All")),
            ("running", _("On sale now")),
            ("upcoming", pgettext("flash sale", "Upcoming")),
            ("ended", _("Ended or off")),
        ],
        "querystring": urlencode({k: v for k, v in filters.items() if v}),
        "can_manage": request.access.can("promotions.manage"),
    }
    return render(request, "promotions/flash_sale_list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("promotions.manage")
def flash_sale_create(request: ConsoleRequest) -> HttpResponse:
    if request.method != "POST":
        form = FlashSaleForm()
        return render(request, "promotions/flash_sale_form.html", {"form": form, "sale": None})
    form = FlashSaleForm(request.POST)
    if form.is_valid():
        try:
            sale = services.flash_sale_create(
                actor=request.access.staff, clinic=request.access.clinic, **form.service_values()
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(
                request, _("The flash sale %(title)s is set up.") % {"title": sale.title}
            )
            return redirect("promotions:flash_sale_detail", sale_id=sale.pk)
    return render(
        request, "promotions/flash_sale_form.html", {"form": form, "sale": None}, status=400
    )


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("promotions.manage")
def flash_sale_edit(request: ConsoleRequest, sale_id: int) -> HttpResponse:
    sale = selectors.get_flash_sale(sale_id=sale_id)
    if request.method != "POST":
        form = FlashSaleForm(sale=sale)
        return render(request, "promotions/flash_sale_form.html", {"form": form, "sale": sale})
    form = FlashSaleForm(request.POST, sale=sale)
    if form.is_valid():
        values = form.service_values()
        clinics = values.pop("clinics")
        try:
            services.flash_sale_update(
                actor=request.access.staff,
                clinic=request.access.clinic,
                sale=sale,
                clinics=clinics,
                **values,
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(request, _("The flash sale is saved."))
            return redirect("promotions:flash_sale_detail", sale_id=sale.pk)
    return render(
        request, "promotions/flash_sale_form.html", {"form": form, "sale": sale}, status=400
    )


@require_safe
@console_page("promotions.view")
def flash_sale_detail(request: ConsoleRequest, sale_id: int) -> HttpResponse:
    sale = selectors.get_flash_sale(sale_id=sale_id)
    status = request.GET.get("status", "")
    if status not in FlashSaleClaimStatus.values:
        status = ""
    claims = selectors.flash_sale_claim_list(sale=sale, status=status)
    page = paginate(claims, page=page_number(request.GET.get("page")), page_size=PAGE_SIZE)
    stats = selectors.flash_sale_stats(sale=sale)
    context = {
        "sale": sale,
        "stats": stats,
        "sold_percent": round(100 * stats.sold / stats.stock) if stats.stock else 0,
        "page": page,
        "claims": page.items,
        "status": status,
        "statuses": FlashSaleClaimStatus.choices,
        "querystring": urlencode({"status": status} if status else {}),
        "can_manage": request.access.can("promotions.manage"),
    }
    return render(request, "promotions/flash_sale_detail.html", context)


urlpatterns = [
    path("flash-sales/", flash_sale_list, name="flash_sale_list"),
    path("flash-sales/new/", flash_sale_create, name="flash_sale_create"),
    path("flash-sales/<int:sale_id>/", flash_sale_detail, name="flash_sale_detail"),
    path("flash-sales/<int:sale_id>/edit/", flash_sale_edit, name="flash_sale_edit"),
]
