"""Panels one app's page shows for other apps, named in settings, so that the page's app
never imports theirs (patients and scheduling sit below billing and clinical).

A panel is a function named by dotted path in a settings list; it is called with the
request and the page's subject and returns (template name, context), or None to show
nothing (e.g. when the user lacks the permission).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

Panel = tuple[str, dict[str, Any]]


def panels_for(setting: str, request: HttpRequest, subject: Any) -> list[Panel]:
    panels = []
    for dotted in getattr(settings, setting, []):
        panel = import_string(dotted)(request, subject)
        if panel is not None:
            panels.append(panel)
    return panels
