"""Every write of scheduling: one function per action, in a transaction, audited; appointment
changes also append to the appointment's own history."""

from chairside.scheduling.services.appointments import (
    KEEP,
    Keep,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_mark_no_show,
    appointment_reschedule,
    appointment_start,
    appointment_walk_in,
)
from chairside.scheduling.services.feeds import calendar_feed_create, calendar_feed_revoke
from chairside.scheduling.services.recall import (
    RecallRun,
    recall_dismiss,
    recall_link_booking,
    recall_mark_contacted,
    recall_rule_create,
    recall_rule_delete,
    recall_rule_update,
    recalls_generate,
)
from chairside.scheduling.services.setup import (
    appointment_type_create,
    appointment_type_update,
    chair_create,
    chair_update,
    schedule_exception_create,
    schedule_exception_delete,
    shift_create,
    shift_delete,
)
from chairside.scheduling.services.triage import (
    triage_defaults_install,
    triage_rule_create,
    triage_rule_delete,
    triage_rule_update,
)

__all__ = [
    "KEEP",
    "Keep",
    "RecallRun",
    "appointment_book",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_complete",
    "appointment_confirm",
    "appointment_mark_no_show",
    "appointment_reschedule",
    "appointment_start",
    "appointment_type_create",
    "appointment_type_update",
    "appointment_walk_in",
    "calendar_feed_create",
    "calendar_feed_revoke",
    "chair_create",
    "chair_update",
    "recall_dismiss",
    "recall_link_booking",
    "recall_mark_contacted",
    "recall_rule_create",
    "recall_rule_delete",
    "recall_rule_update",
    "recalls_generate",
    "schedule_exception_create",
    "schedule_exception_delete",
    "shift_create",
    "shift_delete",
    "triage_defaults_install",
    "triage_rule_create",
    "triage_rule_delete",
    "triage_rule_update",
]
