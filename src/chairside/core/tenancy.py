"""The current tenant (organization, and the clinic acted in) for a request or a task.

Every query of tenant data reads it; with none set, queries raise instead of returning
rows of every organization.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models

if TYPE_CHECKING:
    from chairside.core.models import Clinic, Organization


class TenantScopeError(RuntimeError):
    """Tenant data was queried with no tenant set: a bug, never a user error."""


@dataclass(frozen=True, slots=True)
class Tenant:
    organization_id: int
    clinic_id: int | None = None


_current: ContextVar[Tenant | None] = ContextVar("chairside_tenant", default=None)


def current_tenant() -> Tenant:
    tenant = _current.get()
    if tenant is None:
        raise TenantScopeError("No tenant is set: use tenant_scope() or the tenant middleware.")
    return tenant


def current_tenant_or_none() -> Tenant | None:
    return _current.get()


def activate_tenant(tenant: Tenant | None) -> Token[Tenant | None]:
    return _current.set(tenant)


def reset_tenant(token: Token[Tenant | None]) -> None:
    _current.reset(token)


@contextmanager
def tenant_scope(
    organization: Organization | int, clinic: Clinic | int | None = None
) -> Iterator[Tenant]:
    """Run a block (a task, a command, a test) as one tenant."""
    org_id = organization if isinstance(organization, int) else organization.pk
    clinic_id = clinic if (clinic is None or isinstance(clinic, int)) else clinic.pk
    tenant = Tenant(organization_id=org_id, clinic_id=clinic_id)
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


_M = TypeVar("_M", bound=models.Model)


class TenantManager(models.Manager[_M]):
    """The default manager of tenant data: scoped to the current organization, or raising."""

    def get_queryset(self) -> models.QuerySet[_M]:
        tenant = current_tenant()
        return super().get_queryset().filter(organization_id=tenant.organization_id)


class AllTenantsManager(models.Manager[_M]):
    """Unscoped access for admin, operations and sign-in code only. The name is loud on purpose."""


class TenantModel(models.Model):
    """Base of every row owned by an organization."""

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="+", db_index=True
    )

    objects: Any = TenantManager()
    all_tenants: Any = AllTenantsManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A row is always written into the tenant it is created in; a mismatch is a bug.
        tenant = current_tenant_or_none()
        if self.organization_id is None and tenant is not None:
            self.organization_id = tenant.organization_id
        elif tenant is not None and self.organization_id != tenant.organization_id:
            raise TenantScopeError("Refusing to write a row of another organization.")
        super().save(*args, **kwargs)
