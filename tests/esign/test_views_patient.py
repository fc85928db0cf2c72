"""The patient's public signing page, /sign/<token>/: no sign-in, the link opens only its own
signature; SMS code (and ID number) → the browser's key and request → preview → finish, all
as JSON steps of the page; afterwards the link is used up."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client

from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Document, EvidenceEvent, SignerSlot
from chairside.esign.services.documents import signing_link_issue
from tests.esign.flow_helpers import PATIENT_ID, PATIENT_MOBILE, Browser, Esign, last_code

pytestmark = pytest.mark.usefixtures("esign")


def link(e: Esign, document: Document, staff: Staff | None = None) -> str:
    with tenant_scope(e.world.org, e.world.clinic1):
        issued = signing_link_issue(
            actor=staff or e.world.frontdesk,
            clinic=e.world.clinic1,
            document=document,
            send_sms=False,
        )
    return f"/sign/{issued.token}/"


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    response = client.post(url, json.dumps(body or {}), content_type="application/json")
    return response.status_code, json.loads(response.content)


def sign_as_patient(
    e: Esign, client: Client, base: str, *, id_number: str = "", browser: Browser | None = None
) -> Any:
    assert post(client, base + "code/")[0] == 200
    code = last_code(e.world.org, PATIENT_MOBILE, "esign.sign_code")
    status, body = post(client, base + "verify/", {"code": code, "id_number": id_number})
    assert status == 200, body
    browser = browser or Browser()
    status, session = post(client, base + "prepare/", {"csr": browser.csr_b64()})
    assert status == 200, session
    status, preview = post(client, base + "preview/", {"session": session["id"]})
    assert status == 200, preview
    assert preview["pages"][0].startswith("data:image/png;base64,")
    assert preview["document_digest"] == session["document_digest"]
    signature = browser.sign_b64(base64.b64decode(session["signed_attributes"]))
    return post(client, base + "finish/", {"session": session["id"], "signature": signature})


def test_the_patient_signs_on_the_phone_page_and_the_link_is_used_up(esign: Esign) -> None:
    document = esign.document(roles=("patient", "doctor"))
    base = link(esign, document)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(base)
    assert page.status_code == 200
    assert "139****0011" in page.content.decode()

    status, done = sign_as_patient(esign, client, base)

    assert status == 200, done
    assert done == {"signed": True, "number": document.number}
    with tenant_scope(esign.world.org):
        slot = SignerSlot.objects.get(document=document, role="patient")
        kinds = set(EvidenceEvent.objects.filter(document=document).values_list("kind", flat=True))
    assert slot.status == "signed"
    assert {"sent", "opened", "identity_verified", "previewed", "signed"} <= kinds
    assert client.get(base).status_code == 404


def test_opening_the_page_is_logged_once_per_browser(esign: Esign) -> None:
    document = esign.document()
    base = link(esign, document)
    client = Client()
    client.get(base)
    client.get(base)
    Client().get(base)
    with tenant_scope(esign.world.org):
        assert EvidenceEvent.objects.filter(document=document, kind="opened").count() == 2


@pytest.mark.parametrize("token", ["nope", "x" * 22, "a" * 80])
def test_an_unknown_link_shows_the_same_not_available_page(esign: Esign, token: str) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/sign/{token}/")
    assert page.status_code == 404
    assert "This link is not available" in page.content.decode()
    assert post(Client(), f"/sign/{token}/code/")[0] == 404


def test_a_new_link_replaces_the_old_one(esign: Esign) -> None:
    document = esign.document()
    old = link(esign, document)
    new = link(esign, document)
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200


def test_the_link_does_not_open_before_the_patients_turn_or_after_voiding(esign: Esign) -> None:
    from chairside.esign.services.documents import document_void

    document = esign.document()
    base = link(esign, document)
    with tenant_scope(esign.world.org, esign.world.clinic1):
        document_void(
            actor=esign.world.boss, clinic=esign.world.clinic1, document=document, reason="重开"
        )
    assert Client().get(base).status_code == 404


def test_preparing_without_the_code_is_refused(esign: Esign) -> None:
    document = esign.document()
    base = link(esign, document)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    status, body = post(client, base + "prepare/", {"csr": Browser().csr_b64()})
    assert status == 409
    assert body["code"] == "esign_not_your_turn"


def test_the_code_proof_stays_in_the_browser_that_entered_it(esign: Esign) -> None:
    document = esign.document()
    base = link(esign, document)
    mine = Client()
    post(mine, base + "code/")
    code = last_code(esign.world.org, PATIENT_MOBILE, "esign.sign_code")
    assert post(mine, base + "verify/", {"code": code})[0] == 200

    other = Client()
    status, _body = post(other, base + "prepare/", {"csr": Browser().csr_b64()})
    assert status == 409


def test_the_id_number_is_asked_where_the_form_requires_it(esign: Esign) -> None:
    document = esign.document(requires_id_number=True)
    base = link(esign, document)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert 'name="id_number"' in client.get(base).content.decode()
    post(client, base + "code/")
    code = last_code(esign.world.org, PATIENT_MOBILE, "esign.sign_code")
    status, body = post(client, base + "verify/", {"code": code, "id_number": "110101199003079999"})
    assert status == 400
    assert body["code"] in {"esign_identity_failed"}
    status, _body = post(client, base + "verify/", {"code": code, "id_number": PATIENT_ID})
    assert status == 200


def test_a_session_of_another_slot_is_refused(esign: Esign) -> None:
    first = esign.document()
    second = esign.document(source_id=2)
    base1, base2 = link(esign, first), link(esign, second)
    client = Client()
    post(client, base1 + "code/")
    code = last_code(esign.world.org, PATIENT_MOBILE, "esign.sign_code")
    post(client, base1 + "verify/", {"code": code})
    status, session = post(client, base1 + "prepare/", {"csr": Browser().csr_b64()})
    assert status == 200

    status, _body = post(client, base2 + "preview/", {"session": session["id"]})
    assert status == 400


def test_garbage_is_a_clear_error_not_a_crash(esign: Esign) -> None:
    document = esign.document()
    base = link(esign, document)
    client = Client()
    response = client.post(base + "verify/", "not json", content_type="application/json")
    assert response.status_code == 400
    status, _body = post(client, base + "prepare/", {"csr": "%%%"})
    assert status == 400


def test_before_the_code_the_page_shows_no_title_and_a_masked_name(esign: Esign) -> None:
    document = esign.document()
    base = link(esign, document)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")

    before = client.get(base).content.decode()
    post(client, base + "code/")
    code = last_code(esign.world.org, PATIENT_MOBILE, "esign.sign_code")
    post(client, base + "verify/", {"code": code})
    after = client.get(base).content.decode()

    assert document.number in before
    assert "拔牙知情同意书" not in before
    assert "张*明" in before
    assert "张小明" not in before
    assert 'data-verified="false"' in before
    assert "拔牙知情同意书" in after
    assert "张小明" in after
    assert 'data-verified="true"' in after
