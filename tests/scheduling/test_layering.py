"""The services package of scheduling keeps out of the web layer, like every services.py
(tests/test_layering.py finds modules named services.py, not a services package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_layering import SRC, WEB_LAYER, imported_modules

SERVICES = sorted((SRC / "scheduling" / "services").glob("*.py"))


def test_the_services_package_is_found() -> None:
    assert SRC / "scheduling" / "services" / "appointments.py" in SERVICES


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_scheduling_services_do_not_import_the_web_layer(path: Path) -> None:
    offending = {
        module
        for module in imported_modules(path)
        if any(module == web or module.startswith(web + ".") for web in WEB_LAYER)
    }
    assert not offending, f"{path.name} imports {sorted(offending)}"
