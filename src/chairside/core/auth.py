"""Django authentication backend: staff sign in by username or mobile, with lock-out and TOTP."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from chairside.core.models import Staff
from chairside.core.services import staff_sign_in


class StaffBackend(BaseBackend):
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        otp: str | None = None,
        **kwargs: Any,
    ) -> Staff | None:
        if not username or not password:
            return None
        # Domain errors (wrong password, locked out) propagate so the form can show them.
        return staff_sign_in(login=username, password=password, otp=otp)

    def get_user(self, user_id: int) -> Staff | None:
        return Staff.all_tenants.filter(pk=user_id, is_active=True).first()

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        # Django admin is for installation operators (superusers) only.
        return bool(user_obj.is_active and user_obj.is_superuser)
