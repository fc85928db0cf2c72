"""Fixtures of the e-signature tests (the signing flow's come from flow_helpers; other
parts of the app may add theirs here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation

from tests.esign.flow_helpers import enrolled, esign  # noqa: F401 - fixtures re-exported


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Findings and errors are asserted in their English source text, whatever the default
    # language (a test that wants Chinese asks for it).
    with translation.override("en"):
        yield
