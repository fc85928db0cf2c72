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

__all__ = [
    "KEEP",
    "Keep",
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
    "chair_create",
    "chair_update",
    "schedule_exception_create",
    "schedule_exception_delete",
    "shift_create",
    "shift_delete",
]
