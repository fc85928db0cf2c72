"""What every console page shares: sign-in and permission checks, and domain errors as pages.

A console view is written as::

    @console_page("patients.view")
    def patient_list(request: ConsoleRequest) -> HttpResponse: ...

The decorator sends anonymous visitors to the sign-in page, answers 403 when the acting
clinic's roles lack the permission, and turns `NotFound` into the ordinary 404 page, so
another organization's objects look exactly like missing ones.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from chairside.core.access import Access
from chairside.core.errors import NotFound

P = ParamSpec("P")


class ConsoleRequest(HttpRequest):
    """An HttpRequest of a signed-in staff member with an acting clinic (for type checkers)."""

    access: Access


def console_page(
    permission: str | None = None,
) -> Callable[
    [Callable[Concatenate[ConsoleRequest, P], HttpResponse]],
    Callable[Concatenate[HttpRequest, P], HttpResponse],
]:
    def decorate(
        view: Callable[Concatenate[ConsoleRequest, P], HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            access: Access | None = getattr(request, "access", None)
            if access is None:
                return render(request, "console/no_access.html", status=403)
            if permission and not access.can(permission):
                return forbidden(request, permission)
            try:
                return view(request, *args, **kwargs)  # type: ignore[arg-type]
            except NotFound as e:
                raise Http404(str(e.message)) from e

        return wrapper

    return decorate


def field_errors(error: Any) -> dict[str, list[str]]:
    """A DomainError's field errors as plain strings, for attaching to a Django form."""
    return {name: [str(m) for m in messages] for name, messages in error.fields.items()}


def forbidden(request: HttpRequest, permission: str) -> HttpResponse:
    """The 403 page naming the permission the acting clinic's roles lack."""
    return render(request, "console/forbidden.html", {"permission": permission}, status=403)


def page_number(value: str | None) -> int:
    """A list's ?page=: anything that is not a sensible page number is page 1."""
    try:
        return max(1, min(int(value or 1), 1_000_000))
    except ValueError:
        return 1


def positive_id(value: str | None) -> int | None:
    """A filter's ?id=: None unless it is a row id (positive, within bigint)."""
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**62 else None
