"""Organizations (chains), clinics, staff, roles and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.crypto import EncryptedTextField
from chairside.core.tenancy import AllTenantsManager, TenantManager, TenantModel


class Organization(models.Model):
    """A chain (连锁) or a single practice: the tenant."""

    slug = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    timezone = models.CharField(_("time zone"), max_length=50, default="Asia/Shanghai")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name


class Clinic(TenantModel):
    """A branch (门店) of a chain, or the chain's headquarters office."""

    class Kind(models.TextChoices):
        HEADQUARTERS = "hq", _("Headquarters")
        CLINIC = "clinic", _("Clinic")

    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CLINIC)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    timezone = models.CharField(_("time zone"), max_length=50, default="Asia/Shanghai")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")
        ordering: ClassVar[list[str]] = ["kind", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "code"], name="clinic_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class StaffManager(TenantManager["Staff"], BaseUserManager["Staff"]):
    pass


class AllStaffManager(AllTenantsManager["Staff"], BaseUserManager["Staff"]):
    def create_superuser(self, username: str, password: str | None = None, **extra: Any) -> Staff:
        user = self.model(username=username, is_staff=True, is_superuser=True, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class Staff(AbstractBaseUser, PermissionsMixin):
    """A person who works for an organization and signs in to the console."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    username = models.CharField(_("username"), max_length=50, unique=True)
    phone = models.CharField(_("mobile"), max_length=11, unique=True, null=True, blank=True)
    display_name = models.CharField(_("name"), max_length=50)
    title = models.CharField(_("title"), max_length=50, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Django admin access for operators of the installation, not for clinic staff.
    is_staff = models.BooleanField(default=False)
    totp_secret = EncryptedTextField(blank=True, default="")
    totp_enabled = models.BooleanField(_("two-factor sign-in"), default=False)
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[StaffManager] = StaffManager()
    all_tenants: ClassVar[AllStaffManager] = AllStaffManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["display_name"]

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        # Sign-in must find a user before any tenant is known.
        default_manager_name = "all_tenants"

    def __str__(self) -> str:
        return self.display_name or self.username

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class Role(TenantModel):
    """A named set of permissions (e.g. front desk), defined per organization."""

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=50)
    permissions = models.JSONField(_("permissions"), default=list)
    spans_organization = models.BooleanField(
        _("HQ role"), default=False, help_text=_("Granted for every clinic of the organization.")
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "code"], name="role_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class StaffRole(TenantModel):
    """A role granted to a staff member in one clinic, or in all of them (clinic empty)."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="role_grants")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="grants")
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, null=True, blank=True, related_name="role_grants"
    )

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "staff", "role", "clinic"], name="staff_role_unique"
            ),
        ]


class AuditEntry(TenantModel):
    """One create, update or delete of patient, clinical or money data. Never edited."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        VIEW = "view", _("Viewed")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, related_name="+")
    actor = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    entity_type = models.CharField(max_length=50)
    entity_id = models.CharField(max_length=40)
    summary = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "entity_type", "entity_id"], name="audit_entity"),
        ]


class ApiToken(TenantModel):
    """A bearer token for the API. Only a hash of the secret is stored."""

    LIFETIME = timedelta(days=30)

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(32)
