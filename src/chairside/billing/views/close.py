"""The daily close page (日结): a day's money at the acting clinic by payment method and by
staff member, as it stands (a preview) or as it was frozen when the day was closed; the
Close day button; and the list of past closes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chairside.billing.forms.cashier import attach_errors
from chairside.billing.forms.close import CloseDayForm, DayForm
from chairside.billing.models import DailyClose, PaymentMethod
from chairside.billing.selectors import bills as bill_selectors
from chairside.billing.services import close as close_services
from chairside.billing.views.cashier import PAGE_SIZE, render_page
from chairside.core.clock import clinic_today
from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError
from chairside.core.money import Money
from chairside.core.pagination import paginate

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class FlowRow:
    """One row of a totals table: money in, out and the difference, formatted."""

    label: str
    money_in: str
    money_out: str
    net: str


def _row(label: str, flow: dict[str, Any]) -> FlowRow:
    def amount(key: str) -> str:
        return str(Money(Decimal(str(flow.get(key, "0")))))

    return FlowRow(label, amount("in"), amount("out"), amount("net"))


@dataclass(frozen=True)
class DayTotals:
    by_method: list[FlowRow]
    by_staff: list[FlowRow]
    total: FlowRow
    count: int


def day_totals(totals: dict[str, Any]) -> DayTotals:
    """The frozen (or previewed) JSON totals as rows, methods in the counter's order."""
    labels = dict(PaymentMethod.choices)
    by_method = totals.get("by_method", {})
    methods = [_row(str(labels[m]), by_method[m]) for m in PaymentMethod.values if m in by_method]
    staff = sorted(totals.get("by_staff", {}).values(), key=lambda s: s.get("name", ""))
    return DayTotals(
        by_method=methods,
        by_staff=[_row(s.get("name", ""), s) for s in staff],
        total=_row(_("Total"), totals.get("total", {})),
        count=int(totals.get("count", 0)),
    )


def _close_url(day: date) -> str:
    return f"{reverse('billing:close')}?date={day.isoformat()}"


@require_http_methods(["GET", "POST"])
@console_page("billing.close")
def close_page(request: ConsoleRequest) -> HttpResponse:
    access = request.access
    clinic = access.clinic
    today = clinic_today(clinic)
    status = 200
    close_form: CloseDayForm | None = None
    if request.method == "POST":
        close_form = CloseDayForm(request.POST)
        status = 400
        if close_form.is_valid():
            day = close_form.cleaned_data["date"]
            try:
                done = close_services.daily_close(
                    actor=access.staff,
                    clinic=clinic,
                    business_date=day,
                    note=close_form.cleaned_data["note"],
                )
            except DomainError as e:
                attach_errors(close_form, e)
                status = e.status
            else:
                messages.success(
                    request,
                    _("%(date)s is closed: %(received)s received, %(refunded)s paid back.")
                    % {
                        "date": day.isoformat(),
                        "received": Money(done.received_total),
                        "refunded": Money(done.refunded_total),
                    },
                )
                return redirect(_close_url(day))
        day = close_form.cleaned_data.get("date") or today
    else:
        day_form = DayForm(request.GET or None)
        day = day_form.cleaned_data["date"] if day_form.is_valid() else today
    closed: DailyClose | None = bill_selectors.daily_closes(
        clinic=clinic, date_from=day, date_to=day
    ).first()
    if closed is not None:
        totals = day_totals(closed.totals)
    else:
        totals = day_totals(bill_selectors.daily_close_preview(clinic, day).as_json())
    page = paginate(
        bill_selectors.daily_closes(clinic=clinic),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    context: dict[str, Any] = {
        "day": day,
        "today": today,
        "is_future": day > today,
        "day_form": DayForm(initial={"date": day}),
        "close_form": close_form or CloseDayForm(initial={"date": day}),
        "closed": closed,
        "totals": totals,
        "page": page,
        "closes": page.items,
        "querystring": f"date={day.isoformat()}",
    }
    return render_page(request, "billing/close.html", context, status=status)


urlpatterns = [
    path("close/", close_page, name="close"),
]
