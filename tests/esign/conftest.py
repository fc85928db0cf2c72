"""Fixtures of the e-signature tests (the signing flow's come from flow_helpers; other
parts of the app may add theirs here)."""

from __future__ import annotations

from tests.esign.flow_helpers import enrolled, esign  # noqa: F401 - fixtures re-exported
