"""The core API: tokens, bearer and session auth, the acting clinic, one error shape in the
caller's language, the caller, clinics and staff; and that organization B sees none of A."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import trans_real

from chairside.core.models import ApiToken, Staff
from chairside.core.services import (
    MAX_FAILED_LOGINS,
    clinic_create,
    staff_create,
    staff_totp_begin,
    staff_totp_confirm,
)
from chairside.core.tenancy import current_tenant_or_none
from tests.apiclient import ApiClient, Endpoint
from tests.conftest import PASSWORD, World

# Every authenticated core operation; the patients tests check that together with theirs
# these cover the whole OpenAPI document.
CORE_ENDPOINTS = [
    Endpoint("GET", "/me"),
    Endpoint("GET", "/clinics"),
    Endpoint("GET", "/clinics/{clinic}"),
    Endpoint("GET", "/staff"),
    Endpoint("GET", "/staff/{staff}"),
]
CORE_LOOKUPS = [e for e in CORE_ENDPOINTS if "{" in e.path]


def a_ids(world: World) -> dict[str, int]:
    return {"clinic": world.clinic1.pk, "staff": world.frontdesk.pk}


def token_for(username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return ApiClient().post("/auth/token", {"username": username, "password": password, **extra})


def is_error(body: Any, code: str) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"code", "message", "fields"}
        and body["code"] == code
        and isinstance(body["message"], str)
        and body["message"] != ""
    )


# Tokens


def test_a_token_is_issued_for_the_right_password_and_opens_the_api(world: World) -> None:
    response = token_for("frontdesk")

    assert response.status == 200
    assert response.json["staff"] == {
        "id": world.frontdesk.pk,
        "username": "frontdesk",
        "display_name": "Front Desk",
        "title": "",
    }
    assert response.json["expires_at"] > timezone.now().isoformat()
    me = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"})
    assert me.status_code == 200
    assert me.json()["staff"]["username"] == "frontdesk"


def test_a_token_can_be_requested_with_the_mobile_number(world: World) -> None:
    assert token_for("138 0000 0002").json["staff"]["username"] == "frontdesk"


@pytest.mark.parametrize("username", ["frontdesk", "nobody"])
def test_wrong_credentials_are_401_without_telling_which_was_wrong(
    world: World, username: str
) -> None:
    response = token_for(username, "wrong-password")

    assert response.status == 401
    assert is_error(response.json, "not_authenticated")
    assert response.json["message"] == "Wrong username or password."
    assert response.raw["WWW-Authenticate"].startswith("Bearer")


def test_repeated_failures_lock_the_account_out(world: World) -> None:
    for _attempt in range(MAX_FAILED_LOGINS):
        assert token_for("frontdesk", "wrong-password").status == 401

    response = token_for("frontdesk")  # even the right password, for a while

    assert response.status == 403
    assert is_error(response.json, "locked_out")
    assert not ApiToken.all_tenants.exists()


def test_two_factor_staff_need_the_authenticator_code(world: World) -> None:
    staff_totp_begin(staff=world.boss)
    secret = Staff.all_tenants.get(pk=world.boss.pk).totp_secret
    staff_totp_confirm(staff=world.boss, code=pyotp.TOTP(secret).now())

    missing = token_for("boss")
    wrong = token_for("boss", otp="000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    right = token_for("boss", otp=pyotp.TOTP(secret).now())

    for response in (missing, wrong):
        assert response.status == 401
        assert is_error(response.json, "not_authenticated")
        assert list(response.json["fields"]) == ["otp"]
    assert right.status == 200


def test_staff_without_any_clinic_get_no_token(world: World) -> None:
    staff_create(organization=world.org, username="idle", display_name="Idle", password=PASSWORD)

    response = token_for("idle")

    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert not ApiToken.all_tenants.filter(staff__username="idle").exists()


def test_a_token_body_missing_fields_is_400_with_the_fields(db: None) -> None:
    response = ApiClient().post("/auth/token", {"username": "x"})

    assert response.status == 400
    assert is_error(response.json, "invalid")
    assert response.json["fields"] == {"password": ["This field is required."]}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-token", "Basic Zm9vOmJhcg==", "Token abc"],
)
def test_requests_without_a_valid_token_are_401(world: World, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = Client().get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert is_error(response.json(), "not_authenticated")


def test_an_expired_token_is_401(world: World) -> None:
    api = ApiClient(world.frontdesk)
    ApiToken.all_tenants.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert api.get("/me").status == 401


def test_a_deactivated_staff_members_token_stops_working(world: World) -> None:
    api = ApiClient(world.frontdesk)
    Staff.all_tenants.filter(pk=world.frontdesk.pk).update(is_active=False)

    assert api.get("/me").status == 401


# The acting clinic


def test_me_describes_the_caller_in_their_first_clinic(world: World) -> None:
    response = ApiClient(world.frontdesk).get("/me")

    assert response.status == 200
    body = response.json
    assert body["organization"] == {"id": world.org.pk, "slug": "smile", "name": "Smile Chain"}
    assert body["clinic"]["id"] == world.clinic1.pk
    assert [c["id"] for c in body["clinics"]] == [world.clinic1.pk]
    assert "patients.create" in body["permissions"]
    assert "patients.archive" not in body["permissions"]


def test_x_clinic_id_picks_the_clinic_acted_in(world: World) -> None:
    response = ApiClient(world.boss, clinic=world.clinic2).get("/me")

    assert response.status == 200
    assert response.json["clinic"]["id"] == world.clinic2.pk
    assert [c["id"] for c in response.json["clinics"]] == [world.clinic1.pk, world.clinic2.pk]


@pytest.mark.parametrize("clinic", ["abc", "1.5", "-3", "0", "99999999999999999999999"])
def test_an_x_clinic_id_that_is_not_an_id_is_400(world: World, clinic: str) -> None:
    response = ApiClient(world.boss, clinic=clinic).get("/me")

    assert response.status == 400
    assert is_error(response.json, "invalid")
    assert list(response.json["fields"]) == ["X-Clinic-Id"]


@pytest.mark.parametrize("endpoint", CORE_ENDPOINTS, ids=str)
def test_staff_acting_in_a_clinic_they_do_not_work_in_is_403(
    world: World, endpoint: Endpoint
) -> None:
    api = ApiClient(world.frontdesk, clinic=world.clinic2)

    response = endpoint.call(api, a_ids(world))

    assert response.status == 403
    assert is_error(response.json, "permission_denied")


def test_another_organizations_clinic_as_x_clinic_id_is_403_like_a_missing_one(
    world: World,
) -> None:
    foreign = ApiClient(world.boss_b, clinic=world.clinic1).get("/me")
    missing = ApiClient(world.boss_b, clinic=987654).get("/me")

    assert foreign.status == missing.status == 403
    assert foreign.json == missing.json


def test_the_tenant_is_reset_after_a_token_request(world: World) -> None:
    assert ApiClient(world.frontdesk).get("/clinics").status == 200

    assert current_tenant_or_none() is None


def test_a_token_for_one_organization_never_sees_the_tenant_of_the_previous_request(
    world: World,
) -> None:
    a, b = ApiClient(world.boss), ApiClient(world.boss_b)

    names_a = {c["name"] for c in a.get("/clinics").json}
    names_b = {c["name"] for c in b.get("/clinics").json}

    assert names_a == {"HQ", "Downtown Clinic", "Riverside Clinic"}
    assert names_b == {"Other Clinic"}


# Session auth (the console's own pages calling the API)


def test_a_signed_in_session_can_read_without_a_token(world: World) -> None:
    client = Client()
    client.force_login(world.frontdesk)

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["staff"]["username"] == "frontdesk"


def test_session_writes_need_the_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.frontdesk)
    body = {"name": "Wang Wu"}

    refused = client.post("/api/v1/patients", body, content_type="application/json")
    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    accepted = client.post(
        "/api/v1/patients", body, content_type="application/json", headers={"X-CSRFToken": secret}
    )

    assert refused.status_code == 403
    assert is_error(refused.json(), "permission_denied")
    assert accepted.status_code == 201


def test_a_session_can_pick_the_clinic_with_the_header_too(world: World) -> None:
    client = Client()
    client.force_login(world.boss)

    response = client.get("/api/v1/me", headers={"X-Clinic-Id": str(world.clinic2.pk)})

    assert response.json()["clinic"]["id"] == world.clinic2.pk


# One error shape, in the caller's language


@pytest.fixture
def marked_chinese(monkeypatch: pytest.MonkeyPatch) -> str:
    """zh-Hans 'translations' that mark every message, whatever the .po file holds yet."""
    translation = trans_real.translation("zh-hans")
    original = translation.gettext
    monkeypatch.setattr(translation, "gettext", lambda message: "[zh] " + original(message))
    return "[zh] "


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/clinics/987654", None, 404),  # NotFound from a selector
        ("GET", "/no-such-thing", None, 404),  # no route
        ("GET", "/patients?page=0", None, 400),  # request validation
        ("POST", "/patients", {"name": "x", "phone": "123"}, 400),  # service validation
        ("PUT", "/me", None, 405),
    ],
)
def test_errors_come_in_the_requests_language(
    world: World, marked_chinese: str, method: str, path: str, body: Any, status: int
) -> None:
    english = ApiClient(world.boss, language="en").call(method, path, body)
    chinese = ApiClient(world.boss, language="zh-hans").call(method, path, body)

    assert english.status == chinese.status == status
    assert english.json["code"] == chinese.json["code"]
    assert not english.json["message"].startswith(marked_chinese)
    assert chinese.json["message"].startswith(marked_chinese)
    assert english.raw["Content-Language"] == "en"
    assert chinese.raw["Content-Language"] == "zh-hans"


def test_an_unauthenticated_request_is_answered_in_its_language(
    db: None, marked_chinese: str
) -> None:
    response = ApiClient(language="zh-hans").get("/me")

    assert response.status == 401
    assert response.json["message"].startswith(marked_chinese)


def test_unknown_addresses_under_the_api_are_json_404s(world: World) -> None:
    for path in ("/nothing", "/patients/abc", "/clinics/1/rooms"):
        response = ApiClient(world.boss).get(path)
        assert response.status == 404, path
        assert is_error(response.json, "not_found")


def test_a_wrong_method_is_a_json_405_listing_the_allowed_ones(world: World) -> None:
    response = ApiClient(world.boss).call("DELETE", "/clinics")

    assert response.status == 405
    assert is_error(response.json, "method_not_allowed")
    assert response.raw["Allow"] == "GET"


def test_a_body_that_is_not_json_is_400(world: World) -> None:
    response = ApiClient(world.boss).post("/patients", "{not json")

    assert response.status == 400
    assert is_error(response.json, "invalid")


# The OpenAPI document and the docs page


def test_the_openapi_document_and_docs_need_no_sign_in(db: None) -> None:
    client = Client()

    document = client.get("/api/v1/openapi.json")
    docs = client.get("/api/v1/docs")

    assert document.status_code == 200
    assert document.json()["info"]["title"] == "Chairside API"
    assert docs.status_code == 200
    assert b"/api/v1/openapi.json" in docs.content


def test_every_operation_documents_its_error_answers(db: None) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    error_ref = "#/components/schemas/ApiError"

    for path, item in document["paths"].items():
        for method, operation in item.items():
            expected = {"400", "401", "403"} if operation.get("security") else {"400", "401"}
            if "{" in path:
                expected.add("404")
            errors = {s for s in operation["responses"] if s.startswith("4")}
            assert expected <= errors, f"{method} {path}"
            for status in errors:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": error_ref}, f"{method} {path} {status}"


# Clinics and staff


def test_clinics_are_the_organizations_own(world: World) -> None:
    response = ApiClient(world.frontdesk).get("/clinics")

    assert response.status == 200
    assert [(c["code"], c["kind"]) for c in response.json] == [
        ("c1", "clinic"),
        ("c2", "clinic"),
        ("hq", "hq"),
    ]


def test_a_clinic_by_id(world: World) -> None:
    response = ApiClient(world.frontdesk).get(f"/clinics/{world.clinic2.pk}")

    assert response.status == 200
    assert response.json["name"] == "Riverside Clinic"


def test_staff_are_listed_with_their_roles(world: World) -> None:
    response = ApiClient(world.frontdesk).get("/staff")

    assert response.status == 200
    roles = {s["username"]: s["roles"] for s in response.json}
    assert roles == {
        "boss": [{"role": "boss", "role_name": "Owner", "clinic_id": None}],
        "doctor": [{"role": "doctor", "role_name": "Doctor", "clinic_id": world.clinic1.pk}],
        "frontdesk": [
            {"role": "front_desk", "role_name": "Front desk", "clinic_id": world.clinic1.pk}
        ],
    }


def test_staff_can_be_filtered_by_the_clinic_they_work_in(world: World) -> None:
    staff_create(
        organization=world.org,
        username="nurse2",
        display_name="Nurse",
        password=PASSWORD,
        roles=[("nurse", world.clinic2)],
    )

    response = ApiClient(world.boss).get("/staff", clinic=world.clinic2.pk)

    assert sorted(s["username"] for s in response.json) == ["boss", "nurse2"]


def test_a_staff_member_by_id(world: World) -> None:
    response = ApiClient(world.frontdesk).get(f"/staff/{world.doctor.pk}")

    assert response.status == 200
    assert response.json["display_name"] == "Dr. Li"
    assert response.json["roles"][0]["role"] == "doctor"


def test_staff_without_the_permission_cannot_list_clinics_or_staff(world: World) -> None:
    marketer = staff_create(
        organization=world.org,
        username="marketer",
        display_name="Marketer",
        password=PASSWORD,
        roles=[("marketing", None)],  # has clinics.view, not staff.view
    )
    api = ApiClient(marketer)

    assert api.get("/clinics").status == 200
    for path in ("/staff", f"/staff/{world.boss.pk}"):
        response = api.get(path)
        assert response.status == 403
        assert is_error(response.json, "permission_denied")


def add_clinics(world: World, numbers: range) -> None:
    for i in numbers:
        clinic_create(organization=world.org, code=f"x{i}", name=f"Clinic {i}")


def add_staff(world: World, numbers: range) -> None:
    for i in numbers:
        staff_create(
            organization=world.org,
            username=f"staff{i}",
            display_name=f"Staff {i}",
            password_hash="unusable",
            roles=[("nurse", world.clinic1), ("doctor", world.clinic2)],
        )


@pytest.mark.parametrize(("path", "add"), [("/clinics", add_clinics), ("/staff", add_staff)])
def test_clinic_and_staff_lists_take_the_same_queries_for_5_or_25_rows(
    world: World, path: str, add: Callable[[World, range], None]
) -> None:
    api = ApiClient(world.boss)
    api.get("/me")  # the token's first use is recorded once; leave it out of the count

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(path)
        assert response.status == 200
        return len(response.json), len(ctx.captured_queries)

    add(world, range(5))
    few_rows, few_queries = queries()
    add(world, range(5, 25))
    many_rows, many_queries = queries()

    assert many_rows - few_rows == 20
    assert few_queries == many_queries


# Isolation: organization B never reaches organization A


@pytest.mark.parametrize("endpoint", CORE_LOOKUPS, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    world: World, endpoint: Endpoint
) -> None:
    api = ApiClient(world.boss_b)

    foreign = endpoint.call(api, a_ids(world))
    missing = endpoint.call(api, {"clinic": 987654, "staff": 987654})

    assert foreign.status == 404
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json


@pytest.mark.parametrize("path", ["/clinics", "/staff", "/me"])
def test_lists_of_another_organization_contain_nothing_of_a(world: World, path: str) -> None:
    response = ApiClient(world.boss_b).get(path)

    assert response.status == 200
    text = str(response.json)
    for name in ("Smile", "Downtown", "Riverside", "frontdesk", "Dr. Li"):
        assert name not in text
