"""Tenant scoping: no tenant data without a tenant, and one tenant never sees another."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from chairside.core.middleware import ACTIVE_CLINIC_SESSION_KEY, TenantMiddleware
from chairside.core.models import Clinic, Role
from chairside.core.tenancy import (
    Tenant,
    TenantScopeError,
    current_tenant,
    current_tenant_or_none,
    tenant_scope,
)
from tests.conftest import World


def test_tenant_query_without_a_tenant_raises(world: World) -> None:
    # Given no tenant is set (as in a task or command that forgot tenant_scope)
    assert current_tenant_or_none() is None

    # When / then: querying tenant data fails instead of returning every organization's rows
    with pytest.raises(TenantScopeError):
        list(Clinic.objects.all())
    with pytest.raises(TenantScopeError):
        Role.objects.filter(code="boss").exists()
    with pytest.raises(TenantScopeError):
        current_tenant()


def test_scope_returns_only_the_tenants_rows(world: World) -> None:
    # When each organization queries its clinics
    with tenant_scope(world.org):
        clinics_a = set(Clinic.objects.values_list("pk", flat=True))
        bosses_a = list(Role.objects.filter(code="boss"))
    with tenant_scope(world.org_b):
        clinics_b = set(Clinic.objects.values_list("pk", flat=True))

    # Then each sees exactly its own rows, although both have a "boss" role
    assert clinics_a == {world.hq.pk, world.clinic1.pk, world.clinic2.pk}
    assert clinics_b == {world.clinic_b.pk}
    assert [r.organization_id for r in bosses_a] == [world.org.pk]


def test_lookup_of_another_tenants_row_by_id_finds_nothing(world: World) -> None:
    with tenant_scope(world.org), pytest.raises(Clinic.DoesNotExist):
        Clinic.objects.get(pk=world.clinic_b.pk)


def test_saving_a_row_of_another_organization_inside_a_scope_raises(world: World) -> None:
    # Given a row of organization B, acted on inside organization A's scope
    foreign = Clinic.all_tenants.get(pk=world.clinic_b.pk)
    foreign.name = "Hijacked"

    # When / then: the write is refused and nothing changes
    with tenant_scope(world.org), pytest.raises(TenantScopeError):
        foreign.save()
    assert Clinic.all_tenants.get(pk=world.clinic_b.pk).name == "Other Clinic"


def test_a_new_row_is_written_into_the_current_tenant(world: World) -> None:
    with tenant_scope(world.org_b):
        role = Role(code="auditor", name="Auditor")
        role.save()
    assert Role.all_tenants.get(pk=role.pk).organization_id == world.org_b.pk


def test_all_tenants_is_the_explicit_unscoped_bypass(world: World) -> None:
    # Sign-in and operations code reads across organizations, by name only
    assert Clinic.all_tenants.count() == 4


def test_nested_scopes_restore_the_outer_one(world: World) -> None:
    with tenant_scope(world.org, world.clinic1):
        with tenant_scope(world.org_b, world.clinic_b):
            assert current_tenant() == Tenant(world.org_b.pk, world.clinic_b.pk)
        assert current_tenant() == Tenant(world.org.pk, world.clinic1.pk)
        # An error inside the inner scope must not leave its tenant behind either
        with pytest.raises(ZeroDivisionError), tenant_scope(world.org_b):
            _ = 1 / 0
        assert current_tenant() == Tenant(world.org.pk, world.clinic1.pk)
    assert current_tenant_or_none() is None


def test_a_new_thread_does_not_inherit_the_tenant(world: World) -> None:
    # Given a tenant set in this thread
    seen: list[Tenant | None] = []

    def worker() -> None:
        seen.append(current_tenant_or_none())
        # A tenant set in the worker stays in the worker
        with tenant_scope(world.org_b):
            seen.append(current_tenant_or_none())

    with tenant_scope(world.org, world.clinic1):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        # Then this thread's tenant is untouched by the worker's
        assert current_tenant() == Tenant(world.org.pk, world.clinic1.pk)

    # And the worker started with no tenant: one request cannot leak into another's thread
    assert seen == [None, Tenant(world.org_b.pk, None)]


def _request(user: Any, session: dict[str, Any] | None = None) -> HttpRequest:
    request = RequestFactory().get("/patients/")
    request.user = user
    request.session = session if session is not None else {}  # type: ignore[assignment]
    return request


def test_middleware_sets_the_tenant_for_the_view_and_resets_it_when_the_view_raises(
    world: World,
) -> None:
    # Given a view that fails half-way
    seen: list[Tenant | None] = []

    def failing_view(request: HttpRequest) -> HttpResponse:
        seen.append(current_tenant_or_none())
        raise RuntimeError("boom")

    middleware = TenantMiddleware(failing_view)

    # When the front desk of clinic 1 makes a request
    with pytest.raises(RuntimeError):
        middleware(_request(world.frontdesk))

    # Then the view ran as organization A in clinic 1, and no tenant is left behind
    assert seen == [Tenant(world.org.pk, world.clinic1.pk)]
    assert current_tenant_or_none() is None


def test_middleware_uses_the_clinic_chosen_in_the_session(world: World) -> None:
    seen: list[Tenant | None] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(current_tenant_or_none())
        return HttpResponse("ok")

    TenantMiddleware(view)(_request(world.boss, {ACTIVE_CLINIC_SESSION_KEY: world.clinic2.pk}))

    assert seen == [Tenant(world.org.pk, world.clinic2.pk)]
    assert current_tenant_or_none() is None


def test_middleware_falls_back_when_the_chosen_clinic_is_not_theirs(world: World) -> None:
    # Given a session that names a clinic the front desk has no role in
    session = {ACTIVE_CLINIC_SESSION_KEY: world.clinic2.pk}
    request = _request(world.frontdesk, session)

    TenantMiddleware(lambda r: HttpResponse("ok"))(request)

    # Then they act in their own clinic, and the stale choice is forgotten
    assert request.access is not None  # type: ignore[attr-defined]
    assert request.access.clinic == world.clinic1  # type: ignore[attr-defined]
    assert ACTIVE_CLINIC_SESSION_KEY not in session


def test_middleware_sets_no_tenant_for_anonymous_visitors(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    seen: list[Tenant | None] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(current_tenant_or_none())
        return HttpResponse("ok")

    request = _request(AnonymousUser())
    TenantMiddleware(view)(request)

    assert seen == [None]
    assert request.access is None  # type: ignore[attr-defined]


def test_middleware_does_not_keep_a_tenant_set_outside_the_request(world: World) -> None:
    # A tenant set by the server around the request (e.g. a test or a worker) is hidden
    # from the request and restored after it.
    seen: list[Tenant | None] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(current_tenant_or_none())
        return HttpResponse("ok")

    from django.contrib.auth.models import AnonymousUser

    with tenant_scope(world.org_b):
        TenantMiddleware(view)(_request(AnonymousUser()))
        assert current_tenant() == Tenant(world.org_b.pk, None)
    assert seen == [None]
