"""The demo's forms: the implant consent of the patient with the implant plan, sent for
signing, and questionnaires for the statistics page; run twice, it adds nothing."""

from __future__ import annotations

from chairside.clinical.services.plans import plan_accept
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Document, SignerSlot
from chairside.forms.demo import demo_forms_install
from chairside.forms.exports import template_stats
from chairside.forms.models import FormInstance
from chairside.patients.models import Patient
from tests.conftest import World
from tests.forms.conftest import Forms


def test_the_demo_sends_an_implant_consent_and_fills_questionnaires(
    world: World, forms: Forms
) -> None:
    with tenant_scope(world.org, world.clinic1):
        plan_accept(actor=world.doctor, clinic=world.clinic1, plan=forms.plan)
        patients = Patient.objects.count()

    made = demo_forms_install(organization=world.org)
    again = demo_forms_install(organization=world.org)

    assert made == 1 + min(12, patients)
    assert again == 0
    with tenant_scope(world.org):
        consent = FormInstance.objects.get(version__template__code="implant-consent")
        assert consent.patient_id == forms.patient.pk
        assert consent.status == FormInstance.Status.SIGNING
        assert consent.context["treatment.items"] == "种植体植入（36）"
        document = Document.objects.get(pk=consent.document_id)
        roles = list(
            SignerSlot.objects.filter(document=document)
            .order_by("order")
            .values_list("role", flat=True)
        )
        assert roles == ["patient", "doctor", "seal"]
        stats = template_stats(forms.questionnaire)
    assert stats.forms == min(12, patients)
    fields = {f.key: f for f in stats.fields}
    assert fields["truthful"].yes == stats.forms
    assert fields["allergy"].answered == stats.forms
