"""Real-name checks at key enrolment: does this resident ID number belong to this name?

A licensed identity-verification service (公安部身份核验 through a provider: two-factor
"name + ID number", optionally three-factor with the mobile, or a face check) answers that
question; Chairside asks it through `IdentityVerifier`, chosen by the setting
`CHAIRSIDE_IDENTITY_VERIFIER` (a dotted path to a class or an object). The default,
`FakeIdentityVerifier`, is for development and tests only: it checks the number's format
and checksum and that the name is the staff member's, and asks nobody.

A real adapter has this shape (see docs/operations.md, "E-signatures")::

    class ProviderIdentityVerifier:
        def verify(self, *, name: str, id_number: str) -> IdentityResult:
            # POST {name, id_number} to the provider over TLS with the account's key;
            # return IdentityResult(ok=True, reference=<the provider's transaction id>)
            # when it answers "consistent" (一致), ok=False with a message otherwise;
            # raise IdentityServiceUnavailable when it cannot be reached.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import DomainError
from chairside.core.resident_id import parse_resident_id

DEFAULT = "chairside.esign.identity.FakeIdentityVerifier"


class IdentityServiceUnavailable(DomainError):
    """The identity-verification service could not be asked: enrolment waits, never skips it."""

    status = 503
    code = "identity_service_unavailable"


@dataclass(frozen=True)
class IdentityResult:
    ok: bool
    # The provider's reference of the check (kept with the enrolment evidence).
    reference: str = ""
    message: Any = ""


class IdentityVerifier(Protocol):
    def verify(self, *, name: str, id_number: str) -> IdentityResult: ...


def _plain_name(name: str) -> str:
    # Full-width letters and stray spaces typed on a phone do not make another person.
    return "".join(unicodedata.normalize("NFKC", name).split())


def same_name(a: str, b: str) -> bool:
    """Whether two typed names are the same name (width and spacing aside)."""
    return bool(a.strip()) and _plain_name(a) == _plain_name(b)


class FakeIdentityVerifier:
    """FAKE — for development and tests, never production. Accepts any well-formed resident
    ID number (a real date and the right check character) with any non-empty name: it knows
    no register of who holds which number. (Enrolment itself checks that the name is the
    staff member's, whichever verifier answers.)"""

    name = "fake"

    def verify(self, *, name: str, id_number: str) -> IdentityResult:
        if not name.strip():
            return IdentityResult(ok=False, message=_("Enter the name on the ID card."))
        try:
            parse_resident_id(id_number)
        except DomainError as error:
            return IdentityResult(ok=False, message=error.message)
        return IdentityResult(ok=True, reference="fake")


def identity_verifier() -> Any:
    found = import_string(getattr(settings, "CHAIRSIDE_IDENTITY_VERIFIER", DEFAULT))
    return found() if isinstance(found, type) else found
