"""API schemas of the core app, and the input types every app's API uses."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Self

from ninja import Path, Query, Schema
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from chairside.core.api_auth import MAX_ID
from chairside.core.models import Clinic, Staff, StaffRole
from chairside.core.pagination import Page


def is_control_character(ch: str) -> bool:
    """NUL (PostgreSQL cannot store it) or a lone surrogate (it cannot be encoded at all)."""
    return ch == "\x00" or unicodedata.category(ch) == "Cs"


def _no_control_characters(value: str) -> str:
    if any(is_control_character(ch) for ch in value):
        raise PydanticCustomError("text_control_character", "Text contains control characters.")
    return value


Text = Annotated[str, AfterValidator(_no_control_characters)]
# An id in a URL path, a query or a body: positive and within a database key.
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


class PageOut(Schema):
    """One page of a list as every list endpoint answers it; subclasses narrow `items`."""

    items: list[Any]
    total: int
    page: int
    page_size: int
    pages: int

    @classmethod
    def of(cls, page: Page, items: Iterable[Any]) -> Self:
        return cls(
            items=list(items),
            total=page.total,
            page=page.page,
            page_size=page.page_size,
            pages=page.pages,
        )


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    page_size: int = Field(20, ge=1, le=100, description="Items per page, at most 100.")


PageParams = Query[PageQuery]


class TokenIn(Schema):
    username: Text = Field(max_length=150, description="Username or mobile number.")
    password: Text = Field(max_length=256)
    otp: Text | None = Field(
        default=None, max_length=10, description="Authenticator code, if two-factor is on."
    )


class StaffBrief(Schema):
    id: int
    username: str
    display_name: str
    title: str


class TokenOut(Schema):
    token: str
    expires_at: datetime
    staff: StaffBrief


class OrganizationOut(Schema):
    id: int
    slug: str
    name: str


class ClinicOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    address: str
    phone: str
    timezone: str
    is_active: bool

    @staticmethod
    def of(clinic: Clinic) -> ClinicOut:
        return ClinicOut.model_validate(clinic, from_attributes=True)


class RoleGrantOut(Schema):
    role: str = Field(description="Role code, e.g. front_desk.")
    role_name: str
    clinic_id: int | None = Field(description="The clinic, or null for every clinic.")

    @staticmethod
    def of(grant: StaffRole) -> RoleGrantOut:
        return RoleGrantOut(
            role=grant.role.code, role_name=grant.role.name, clinic_id=grant.clinic_id
        )


class StaffOut(Schema):
    id: int
    username: str
    display_name: str
    title: str
    phone: str | None
    is_active: bool
    roles: list[RoleGrantOut]

    @staticmethod
    def of(staff: Staff) -> StaffOut:
        """`staff` with its role grants prefetched (see core.selectors)."""
        return StaffOut(
            id=staff.pk,
            username=staff.username,
            display_name=staff.display_name,
            title=staff.title,
            phone=staff.phone,
            is_active=staff.is_active,
            roles=[RoleGrantOut.of(g) for g in staff.role_grants.all()],
        )


class MeOut(Schema):
    staff: StaffBrief
    organization: OrganizationOut
    clinic: ClinicOut = Field(description="The clinic acted in (X-Clinic-Id or the first).")
    clinics: list[ClinicOut] = Field(description="Every clinic the caller may act in.")
    permissions: list[str] = Field(description="Permissions in the acting clinic.")
