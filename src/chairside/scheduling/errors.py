"""Error codes of scheduling, carried by the API's {code, message, fields} answers."""

from __future__ import annotations

from enum import StrEnum


class SchedulingErrorCode(StrEnum):
    DOUBLE_BOOKED = "double_booked"
    INVALID_TRANSITION = "invalid_transition"
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    NOT_WORKING_HERE = "not_working_here"
    HELD_BACK = "held_back"
    SHIFT_OVERLAP = "shift_overlap"
    APPOINTMENTS_IN_THE_WAY = "appointments_in_the_way"
