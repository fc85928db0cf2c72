"""Clinical panels on the doctor's today's work page (scheduling renders them through the
CHAIRSIDE_TODAY_PANELS setting, so that scheduling never imports clinical)."""

from __future__ import annotations

from datetime import date
from typing import Any

from chairside.clinical.selectors.plans import todays_plans
from chairside.core.console import ConsoleRequest

TODAY_PLANS_TEMPLATE = "clinical/_today_plans.html"


def todays_plans_panel(request: ConsoleRequest, day: date) -> tuple[str, dict[str, Any]] | None:
    """Accepted plans with work left of the patients expected today: the whole clinic's for
    those who see its schedule, a doctor's own patients for those who see their own."""
    access = request.access
    if not access.can("plans.view"):
        return None
    doctor = None if access.can("schedule.view") else access.staff
    return TODAY_PLANS_TEMPLATE, {"today_plans": todays_plans(access.clinic, doctor, day)}
