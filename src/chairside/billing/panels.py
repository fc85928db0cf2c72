"""Billing's panel on the patient page (core.panels): what the patient owes, their
stored-value cards, their latest bills, and the buttons the desk needs."""

from __future__ import annotations

from typing import Any

from chairside.billing.selectors.bills import bill_list, patient_arrears
from chairside.billing.selectors.stored_value import stored_value_cards_usable_by
from chairside.core.console import ConsoleRequest
from chairside.patients.models import Patient

RECENT_BILLS = 5


def patient_money_panel(
    request: ConsoleRequest, patient: Patient
) -> tuple[str, dict[str, Any]] | None:
    access = request.access
    if not access.can("billing.view"):
        return None
    clinic = None if access.can("billing.view_all") else access.clinic
    return "billing/_patient_money.html", {
        "arrears": patient_arrears(patient),
        "cards": stored_value_cards_usable_by(patient=patient),
        "bills": list(bill_list(clinic=clinic, patient=patient)[:RECENT_BILLS]),
        "can_charge": access.can("billing.charge"),
    }
