"""Forms' panel on the patient page (core.panels): the patient's latest forms and the
button to make a new one."""

from __future__ import annotations

from typing import Any

from chairside.core.console import ConsoleRequest
from chairside.forms.selectors.instances import instance_list
from chairside.patients.models import Patient

RECENT_FORMS = 5


def patient_forms_panel(
    request: ConsoleRequest, patient: Patient
) -> tuple[str, dict[str, Any]] | None:
    access = request.access
    if not access.can("forms.view"):
        return None
    return "forms/_patient_forms.html", {
        "instances": list(instance_list(patient_id=patient.pk)[:RECENT_FORMS]),
        "can_fill": access.can("forms.fill"),
    }
