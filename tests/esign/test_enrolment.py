"""Staff key enrolment (F3): the SMS code to the staff member's own mobile, their name and
resident ID number through the identity verifier, a two-year certificate with
non-repudiation for the key of the browser's request; one active certificate per staff
member; revocation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509

from chairside.core.errors import PermissionDenied, ValidationFailed
from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from chairside.esign.errors import (
    CertificateRequestInvalid,
    CodeInvalid,
    IdentityCheckFailed,
    NoMobile,
    SigningRateLimited,
)
from chairside.esign.identity import FakeIdentityVerifier, IdentityResult, identity_verifier
from chairside.esign.models import Certificate, EvidenceEvent, IdentityCheck
from chairside.esign.pki import load_certificate
from chairside.esign.selectors.certificates import active_staff_certificate
from chairside.esign.services.enrolment import certificate_revoke, enrolment_submit
from chairside.esign.services.identity import staff_code_request
from tests.esign.flow_helpers import (
    DOCTOR_ID,
    DOCTOR_MOBILE,
    LOCAL,
    Browser,
    Esign,
    client,
    enrol,
    last_code,
)


def submit(e: Esign, **overrides: Any) -> Certificate:
    world = e.world
    values: dict[str, Any] = {
        "actor": e.doctor,
        "clinic": world.clinic1,
        "csr_der": Browser().csr_der(),
        "code": last_code(world.org, DOCTOR_MOBILE, "esign.enrol_code"),
        "name": e.doctor.display_name,
        "id_number": DOCTOR_ID,
        "client": client(),
        **overrides,
    }
    with tenant_scope(world.org, world.clinic1):
        return enrolment_submit(**values)


def ask_code(e: Esign) -> IdentityCheck:
    with tenant_scope(e.world.org, e.world.clinic1):
        return staff_code_request(staff=e.doctor, clinic=e.world.clinic1, client_ip=LOCAL)


def test_enrolment_certifies_the_browsers_key_for_two_years(esign: Esign) -> None:
    browser = Browser()
    certificate = enrol(esign, esign.doctor, browser)

    cert = load_certificate(certificate.certificate_pem)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert certificate.kind == Certificate.Kind.STAFF
    assert certificate.staff_id == esign.doctor.pk
    assert certificate.subject_name == "Dr. Li"
    assert cert.public_key() == browser.key.public_key()
    assert usage.digital_signature
    assert usage.content_commitment  # non-repudiation
    assert abs((cert.not_valid_after_utc - cert.not_valid_before_utc) - timedelta(days=730)) < (
        timedelta(days=1)
    )
    with tenant_scope(esign.world.org):
        event = EvidenceEvent.objects.get(kind="enrolled")
        check = IdentityCheck.objects.get(staff=esign.doctor)
    assert event.actor == f"staff:{esign.doctor.pk}"
    assert event.details["certificate_serial"] == certificate.serial
    assert event.details["identity_verifier"] == "fake"
    assert DOCTOR_ID not in str(event.details)
    assert check.verified_at is not None


def test_enrolling_again_revokes_the_previous_certificate(esign: Esign) -> None:
    first = enrol(esign, esign.doctor, Browser())
    second = enrol(esign, esign.doctor, Browser())
    with tenant_scope(esign.world.org):
        first = Certificate.objects.get(pk=first.pk)
        assert active_staff_certificate(esign.doctor) == second
        revoked = EvidenceEvent.objects.get(kind="revoked")
    assert first.revoked_at is not None
    assert first.revocation_reason == "superseded"
    assert revoked.details["certificate_serial"] == first.serial


def test_the_code_goes_to_the_staff_members_own_mobile(esign: Esign) -> None:
    check = ask_code(esign)
    assert check.phone == DOCTOR_MOBILE
    assert check.purpose == "enrol"


def test_no_mobile_no_enrolment(esign: Esign) -> None:
    Staff.all_tenants.filter(pk=esign.doctor.pk).update(phone=None)
    esign.doctor.refresh_from_db()
    with tenant_scope(esign.world.org, esign.world.clinic1), pytest.raises(NoMobile):
        staff_code_request(staff=esign.doctor, clinic=esign.world.clinic1, client_ip=LOCAL)


def test_a_second_code_within_a_minute_is_refused(esign: Esign) -> None:
    ask_code(esign)
    with pytest.raises(SigningRateLimited):
        ask_code(esign)


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"name": "李四"}, IdentityCheckFailed, "name"),
        ({"id_number": "310101198506014571"}, IdentityCheckFailed, "id_number"),
        ({"code": "12345"}, CodeInvalid, "code"),
        ({"csr_der": b"0\x00"}, CertificateRequestInvalid, None),
    ],
    ids=["name", "id-checksum", "code-format", "csr"],
)
def test_a_failed_check_issues_nothing(
    esign: Esign, overrides: dict[str, Any], error: type[Exception], field: str | None
) -> None:
    ask_code(esign)
    with pytest.raises(error) as caught:
        submit(esign, **overrides)
    if field:
        assert field in caught.value.fields  # type: ignore[attr-defined]
    with tenant_scope(esign.world.org):
        assert Certificate.objects.count() == 0
        assert not EvidenceEvent.objects.filter(kind="enrolled").exists()
        # A failed enrolment keeps the code for another try (unless the code was wrong).
        assert IdentityCheck.objects.get().verified_at is None


def test_a_code_enrols_once(esign: Esign) -> None:
    ask_code(esign)
    code = last_code(esign.world.org, DOCTOR_MOBILE, "esign.enrol_code")
    submit(esign, code=code)
    with pytest.raises(CodeInvalid):
        submit(esign, code=code)


def test_the_verifier_is_a_setting_and_its_refusal_stops_enrolment(
    esign: Esign, settings: Any
) -> None:
    settings.CHAIRSIDE_IDENTITY_VERIFIER = "tests.esign.test_enrolment.Refusing"
    ask_code(esign)
    with pytest.raises(IdentityCheckFailed) as caught:
        submit(esign)
    assert str(caught.value.message) == "不一致"


class Refusing:
    name = "refusing"

    def verify(self, *, name: str, id_number: str) -> IdentityResult:
        return IdentityResult(ok=False, message="不一致")


def test_the_fake_verifier_is_the_default_and_checks_only_the_format(settings: Any) -> None:
    verifier = identity_verifier()
    assert isinstance(verifier, FakeIdentityVerifier)
    assert verifier.verify(name="任何人", id_number=DOCTOR_ID).ok
    assert not verifier.verify(name="任何人", id_number=DOCTOR_ID[:-1] + "0").ok
    assert not verifier.verify(name=" ", id_number=DOCTOR_ID).ok


def test_revoking_needs_a_reason_and_esign_manage_for_someone_elses(enrolled: Esign) -> None:
    certificate = enrolled.certificate
    assert certificate is not None
    with tenant_scope(enrolled.world.org, enrolled.world.clinic1):
        with pytest.raises(ValidationFailed):
            certificate_revoke(
                actor=enrolled.doctor, certificate=certificate, reason=" ", may_manage=False
            )
        with pytest.raises(PermissionDenied):
            certificate_revoke(
                actor=enrolled.world.frontdesk,
                certificate=certificate,
                reason="离职",
                may_manage=False,
            )
        certificate_revoke(
            actor=enrolled.world.boss, certificate=certificate, reason="离职", may_manage=True
        )
        assert active_staff_certificate(enrolled.doctor) is None
        with pytest.raises(ValidationFailed):
            certificate_revoke(
                actor=enrolled.world.boss, certificate=certificate, reason="离职", may_manage=True
            )
