"""The layering rule of STYLE.md that import-linter cannot express: business code (models,
services, selectors) never imports the web layer of Django."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "chairside"
WEB_LAYER = ("django.http", "django.template", "django.shortcuts", "ninja")
# An app's services and selectors may be a module or a package of modules.
BUSINESS_MODULES = sorted(
    path
    for pattern in ("models.py", "services.py", "selectors.py", "services/*.py", "selectors/*.py")
    for path in SRC.glob(f"*/{pattern}")
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_business_modules_are_found() -> None:
    # Guards the test below against silently checking nothing after a layout change.
    assert SRC / "patients" / "services.py" in BUSINESS_MODULES


@pytest.mark.parametrize("path", BUSINESS_MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_business_code_does_not_import_the_web_layer(path: Path) -> None:
    offending = {
        module
        for module in imported_modules(path)
        if any(module == web or module.startswith(web + ".") for web in WEB_LAYER)
    }
    assert not offending, f"{path.name} imports {sorted(offending)}"
