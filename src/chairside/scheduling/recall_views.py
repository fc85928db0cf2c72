"""The front desk's recall list (/schedule/recalls/): patients due back, with buttons to mark
them contacted, dismiss them, or book them from the calendar. Actions post back to the page."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from dateutil.relativedelta import relativedelta
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chairside.core.clock import clinic_today
from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError
from chairside.scheduling import selectors, services
from chairside.scheduling.models import OPEN_RECALL_STATUSES, RecallStatus

PAGE_SIZE = 30
OPEN = "open"


def _month(value: str | None) -> date | None:
    """The first day of a month given as YYYY-MM, or None."""
    try:
        first = date.fromisoformat(f"{value}-01") if value else None
    except ValueError:
        return None
    return first if first is not None and 2000 <= first.year <= 2100 else None


def _act(request: ConsoleRequest) -> None:
    if not request.access.can("schedule.book"):
        messages.error(request, _("You do not have permission for this."))
        return
    try:
        recall_id = int(request.POST.get("recall", ""))
    except ValueError:
        return
    recall = selectors.get_recall(clinic=request.access.clinic, recall_id=recall_id)
    action = request.POST.get("action")
    note = request.POST.get("note", "")[:500]
    try:
        if action == "contacted":
            services.recall_mark_contacted(actor=request.access.staff, recall=recall, note=note)
            messages.success(
                request, _("%(patient)s marked contacted.") % {"patient": recall.patient.name}
            )
        elif action == "dismiss":
            services.recall_dismiss(actor=request.access.staff, recall=recall, note=note)
            messages.success(
                request, _("Recall of %(patient)s dismissed.") % {"patient": recall.patient.name}
            )
    except DomainError as e:
        messages.error(request, str(e.message))


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("schedule.view")
def recall_list(request: ConsoleRequest) -> HttpResponse:
    if request.method == "POST":
        _act(request)
        return redirect(request.get_full_path())
    status = request.GET.get("status") or OPEN
    if status != OPEN and status not in RecallStatus.values:
        status = OPEN
    month = _month(request.GET.get("month"))
    recalls = selectors.recall_list(
        clinic=request.access.clinic,
        status=OPEN_RECALL_STATUSES if status == OPEN else status,
        due_from=month,
        due_before=month + relativedelta(months=1) if month else None,
    )
    page = selectors.paginate(
        recalls, page=page_number(request.GET.get("page")), page_size=PAGE_SIZE
    )
    calendar = reverse("scheduling:calendar")
    today = clinic_today(request.access.clinic)
    rows = [
        {
            "recall": r,
            "last_visit": r.source_appointment.completed_at,
            "book_url": f"{calendar}?{urlencode({'patient': r.patient_id})}",
            "overdue": r.due_date < today,
            "portal_url": request.build_absolute_uri(selectors.recall_portal_url(r)),
        }
        for r in page.items
    ]
    filters = {"status": status, "month": month.strftime("%Y-%m") if month else ""}
    context = {
        "rows": rows,
        "page": page,
        "filters": filters,
        "statuses": [(OPEN, _("To do (due or contacted)")), *RecallStatus.choices],
        "querystring": urlencode({k: v for k, v in filters.items() if v}),
        "can_act": request.access.can("schedule.book"),
    }
    return render(request, "scheduling/recalls.html", context)
