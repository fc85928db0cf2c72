"""The evidence package: a real two-signer consent is packaged once; the package verifies
with nothing but its own bytes (no database at all), with `sha256sum`, `openssl ts` and the
`chairside verify` command; every tampering is caught and the first broken entry named."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings

from chairside.core.services import clinic_create, organization_create, staff_create
from chairside.core.tenancy import tenant_scope
from chairside.esign import evidence, package
from chairside.esign.models import EvidenceEvent, TreeHead
from tests.conftest import World
from tests.esign.evidence_helpers import FORM_DATA, signed_consent

# pytest-django creates the test database only for a session with database tests; the
# checks themselves prove they need none (django_assert_num_queries(0), and a shell run
# with no database at all).
pytestmark = pytest.mark.django_db

ZipChange = Callable[[dict[str, bytes]], object]


@pytest.fixture(scope="module")
def package_zip(django_db_setup: Any, django_db_blocker: Any) -> bytes:
    """One signed consent's package, built in a transaction that is then rolled back: the
    tests below verify it with no database row (and no database access) at all."""
    # Nothing listens on the discard port: the certificates' CRL addresses are unreachable,
    # as they are on a machine with no network.
    with (
        override_settings(CHAIRSIDE_PUBLIC_URL="http://127.0.0.1:9"),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        org = organization_create(slug="evidence-pkg", name="Evidence Chain")
        clinic = clinic_create(organization=org, code="e1", name="Evidence Clinic")
        doctor = staff_create(
            organization=org,
            username="evidence-doctor",
            display_name="李明华",
            phone="13800000031",
            roles=[("doctor", clinic)],
        )
        frontdesk = staff_create(
            organization=org,
            username="evidence-desk",
            display_name="前台",
            roles=[("front_desk", clinic)],
        )
        signed = signed_consent(org, clinic, doctor, frontdesk)
        with tenant_scope(org):
            data = package.build_package(signed.document)
        transaction.set_rollback(True)
    return data


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename.rsplit("/", 1)[-1]: archive.read(i) for i in archive.infolist()}


def rezip(data: bytes, change: ZipChange, *, fix_sums: bool = True) -> bytes:
    """The package with `change` applied to its files (and SHA256SUMS made to match, so
    only the check aimed at fails)."""
    files = members(data)
    change(files)
    if fix_sums:
        files[package.SUMS] = "".join(
            f"{hashlib.sha256(v).hexdigest()}  {k}\n"
            for k, v in sorted(files.items())
            if k != package.SUMS
        ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(f"pkg/{name}", content)
    return buffer.getvalue()


def edit_events(edit: Callable[[list[dict[str, Any]]], object]) -> ZipChange:
    def change(files: dict[str, bytes]) -> None:
        listing = json.loads(files[package.EVENTS])
        edit(listing["events"])
        files[package.EVENTS] = json.dumps(listing).encode()

    return change


def failures(report: package.PackageReport) -> list[str]:
    return [f.message for f in report.findings if not f.ok]


# --- what the package holds ----------------------------------------------------------------


def test_the_package_holds_what_the_readme_promises(package_zip: bytes) -> None:
    files = members(package_zip)

    assert set(package.REQUIRED) | {package.README, package.SUMS} <= set(files)
    assert {"signer-1-patient.pem", "signer-2-doctor.pem"} <= set(files)
    document = json.loads(files[package.DOCUMENT_JSON])
    assert document["status"] == "completed"
    assert document["final_revision"]["sha256"] == hashlib.sha256(files["signed.pdf"]).hexdigest()
    # The form data, byte for byte the canonical JSON whose hash the document registered.
    assert files[package.FORM_DATA] == evidence.canonical_json(FORM_DATA)
    assert hashlib.sha256(files[package.FORM_DATA]).hexdigest() == document["data_sha256"]
    assert [p["role"] for p in json.loads(files[package.PREVIEWS])] == ["patient", "doctor"]
    kinds = [e["kind"] for e in json.loads(files[package.EVENTS])["events"]]
    assert kinds[0] == "created"
    assert kinds[-1] == "completed"
    assert kinds.count("signed") == 2
    assert kinds.count("previewed") == 2
    readme = re.sub(r"\\\n\s+", "", files[package.README].decode())  # shell line continuations
    for command in (
        "chairside verify package.zip",
        "pyhanko sign adesverify --trust-replace --trust ca.pem --trust tsa-root.pem signed.pdf",
        "pyhanko sign validate --pretty-print --trust-replace --trust ca.pem "
        "--trust tsa-root.pem signed.pdf",
        "openssl ts -verify -in tree-head.tsr -data tree-head-root.bin "
        "-CAfile tsa-root.pem -untrusted tsa.pem",
        "sha256sum -c SHA256SUMS",
    ):
        assert command in readme
    assert "证据包" in readme
    assert "Evidence package" in readme


def test_the_package_never_names_the_document_title_in_its_events(package_zip: bytes) -> None:
    events = members(package_zip)[package.EVENTS].decode()
    assert "种植" not in events
    assert "张小明" not in events
    assert "青霉素" not in events


# --- verifying, offline --------------------------------------------------------------------


def test_the_package_verifies_with_nothing_but_its_bytes(
    package_zip: bytes, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        report = package.verify_package(package_zip)

    assert report.ok, failures(report)
    assert report.first_broken_index is None
    assert report.events == 7  # created, identity verified, 2 x (previewed, signed), completed
    assert [s.field for s in report.signatures] == ["patient", "doctor"]
    assert all(s.intact and s.valid and s.trusted and not s.revoked for s in report.signatures)
    assert report.timestamp is not None


def test_sha256sum_and_openssl_check_the_unpacked_package(
    package_zip: bytes, tmp_path: Path
) -> None:
    for name, content in members(package_zip).items():
        (tmp_path / name).write_bytes(content)

    sums = subprocess.run(  # noqa: S603 - fixed arguments
        [shutil.which("sha256sum") or "sha256sum", "-c", "SHA256SUMS"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    ts = [
        shutil.which("openssl") or "openssl",
        "ts",
        "-verify",
        "-in",
        "tree-head.tsr",
        "-data",
        "tree-head-root.bin",
        "-CAfile",
        "tsa-root.pem",
        "-untrusted",
        "tsa.pem",
    ]
    accepted = subprocess.run(ts, cwd=tmp_path, capture_output=True, check=False)  # noqa: S603
    (tmp_path / "tree-head-root.bin").write_bytes(b"\x00" * 32)
    refused = subprocess.run(ts, cwd=tmp_path, capture_output=True, check=False)  # noqa: S603

    assert sums.returncode == 0, sums.stdout
    assert accepted.returncode == 0, accepted.stderr
    assert b"Verification: OK" in accepted.stdout
    assert refused.returncode != 0
    assert b"message imprint mismatch" in refused.stdout + refused.stderr


def test_pyhanko_validates_the_unpacked_pdf_offline(package_zip: bytes, tmp_path: Path) -> None:
    for name, content in members(package_zip).items():
        (tmp_path / name).write_bytes(content)
    pyhanko = str(Path(sys.executable).parent / "pyhanko")
    trust = ["--trust-replace", "--trust", "ca.pem", "--trust", "tsa-root.pem"]

    result = subprocess.run(  # noqa: S603 - fixed arguments
        [pyhanko, "sign", "adesverify", *trust, "signed.pdf"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
    )

    output = result.stdout.decode()
    assert result.returncode == 0, output + result.stderr.decode()
    assert output.count("INTACT:TRUSTED") >= 2
    assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in output


def test_an_edited_event_is_named(package_zip: bytes) -> None:
    def edit(events: list[dict[str, Any]]) -> None:
        events[3]["details"]["ip"] = "10.6.6.6"

    index = json.loads(members(package_zip)[package.EVENTS])["events"][3]["index"]
    report = package.verify_package(rezip(package_zip, edit_events(edit)))

    assert not report.ok
    assert report.first_broken_index == index
    assert any(f"Entry {index} was changed" in m for m in failures(report))


def test_an_edited_event_with_its_leaf_hash_recomputed_is_not_in_the_log(
    package_zip: bytes,
) -> None:
    def edit(events: list[dict[str, Any]]) -> None:
        event = events[2]
        event["at"] = "2020-01-01T00:00:00.000000Z"
        fields = {
            k: event[k]
            for k in ("index", "kind", "at", "actor", "document", "details", "previous_sha256")
        }
        event["leaf_sha256"] = evidence.leaf_sha256(fields)

    index = json.loads(members(package_zip)[package.EVENTS])["events"][2]["index"]
    report = package.verify_package(rezip(package_zip, edit_events(edit)))

    assert report.first_broken_index == index
    assert any("not in the time-stamped evidence log" in m for m in failures(report))


def test_a_deleted_event_is_named_by_the_one_after_it(package_zip: bytes) -> None:
    listed = json.loads(members(package_zip)[package.EVENTS])["events"]

    report = package.verify_package(rezip(package_zip, edit_events(lambda e: e.pop(4))))

    assert report.first_broken_index == listed[5]["index"]
    assert any("does not follow the previous event" in m for m in failures(report))


def test_reordered_events_are_named(package_zip: bytes) -> None:
    listed = json.loads(members(package_zip)[package.EVENTS])["events"]

    def swap(events: list[dict[str, Any]]) -> None:
        events[1], events[2] = events[2], events[1]

    report = package.verify_package(rezip(package_zip, edit_events(swap)))

    # The later event, moved up, no longer follows the one before it.
    assert report.first_broken_index == listed[2]["index"]
    assert any("does not follow the previous event" in m for m in failures(report))


def test_an_event_listed_twice_is_named(package_zip: bytes) -> None:
    listed = json.loads(members(package_zip)[package.EVENTS])["events"]

    report = package.verify_package(rezip(package_zip, edit_events(lambda e: e.insert(3, e[2]))))

    assert report.first_broken_index == listed[2]["index"]
    assert any("out of order" in m for m in failures(report))


def test_one_flipped_byte_of_the_pdf_is_caught(package_zip: bytes) -> None:
    def flip(files: dict[str, bytes]) -> None:
        pdf = bytearray(files[package.SIGNED_PDF])
        pdf[len(pdf) // 3] ^= 0x01
        files[package.SIGNED_PDF] = bytes(pdf)

    report = package.verify_package(rezip(package_zip, flip))

    assert not report.ok
    assert any("signed.pdf is not the final revision" in m for m in failures(report))
    assert any(not s.intact for s in report.signatures)


def test_changed_form_data_is_caught(package_zip: bytes) -> None:
    def change(files: dict[str, bytes]) -> None:
        files[package.FORM_DATA] = evidence.canonical_json({**FORM_DATA, "tooth": "46"})

    report = package.verify_package(rezip(package_zip, change))

    assert failures(report) == ["form-data.json does not match the data hash of the document."]


def test_form_data_with_a_matching_document_json_is_still_not_the_logged_data(
    package_zip: bytes,
) -> None:
    def change(files: dict[str, bytes]) -> None:
        files[package.FORM_DATA] = evidence.canonical_json({**FORM_DATA, "allergies": ""})
        document = json.loads(files[package.DOCUMENT_JSON])
        document["data_sha256"] = hashlib.sha256(files[package.FORM_DATA]).hexdigest()
        files[package.DOCUMENT_JSON] = json.dumps(document).encode()

    report = package.verify_package(rezip(package_zip, change))

    assert failures(report) == [
        "form-data.json is not the data recorded when the document was created."
    ]


def test_a_forged_tree_head_is_caught(package_zip: bytes) -> None:
    def forge(files: dict[str, bytes]) -> None:
        files[package.TREE_ROOT] = hashlib.sha256(b"forged").digest()

    report = package.verify_package(rezip(package_zip, forge))

    assert any("tree head files do not agree" in m for m in failures(report))
    assert any(
        "time-stamp over the evidence log's root does not verify" in m for m in failures(report)
    )


def test_a_time_stamp_from_another_tsa_is_caught(package_zip: bytes) -> None:
    def other_root(files: dict[str, bytes]) -> None:
        files[package.TSA_ROOT_PEM] = files[package.CA_PEM]

    report = package.verify_package(rezip(package_zip, other_root))

    assert "The time-stamp over the evidence log's root does not verify." in failures(report)
    # The signatures' own time-stamps come from the same TSA: untrusted too.
    assert "Signature patient is not valid: the signature has no trusted time-stamp." in failures(
        report
    )


def test_a_preview_hash_that_is_not_logged_is_caught(package_zip: bytes) -> None:
    def change(files: dict[str, bytes]) -> None:
        previews = json.loads(files[package.PREVIEWS])
        previews[0]["preview_sha256"] = "0" * 64
        files[package.PREVIEWS] = json.dumps(previews).encode()

    report = package.verify_package(rezip(package_zip, change))

    assert failures(report) == [
        "The preview of signature patient is not recorded in the evidence log."
    ]


def test_every_signature_was_made_over_what_its_signer_previewed(package_zip: bytes) -> None:
    files = members(package_zip)
    pdf = files[package.SIGNED_PDF]
    ranges = package._signature_byte_ranges(pdf)

    for preview in json.loads(files[package.PREVIEWS]):
        rebuilt = package.prepared_revision_sha256(pdf, ranges[preview["field"]])
        assert rebuilt == preview["preview_sha256"]


def test_a_file_not_matching_sha256sums_is_named(package_zip: bytes) -> None:
    def change(files: dict[str, bytes]) -> None:
        files[package.README] += b"\nextra line"

    report = package.verify_package(rezip(package_zip, change, fix_sums=False))

    assert failures(report) == ["These files do not match SHA256SUMS: README.txt."]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip", "This is not a ZIP file."),
        (None, "The package lacks tree-head.tsr."),
    ],
)
def test_unreadable_packages_fail_with_a_reason(
    package_zip: bytes, data: bytes | None, message: str
) -> None:
    if data is None:
        data = rezip(package_zip, lambda files: files.pop(package.TREE_TSR))

    report = package.verify_package(data)

    assert not report.ok
    assert failures(report) == [message]


def test_a_pinned_ca_must_be_the_package_ca(package_zip: bytes) -> None:
    files = members(package_zip)

    assert package.verify_package(package_zip, expected_ca=files[package.CA_PEM]).ok
    pinned_other = package.verify_package(package_zip, expected_ca=files[package.TSA_ROOT_PEM])
    assert failures(pinned_other) == ["The package's CA is NOT the CA certificate given."]


# --- the command ---------------------------------------------------------------------------


def test_chairside_verify_exits_0_for_a_good_package(package_zip: bytes, tmp_path: Path) -> None:
    path = tmp_path / "package.zip"
    path.write_bytes(package_zip)
    out = io.StringIO()

    call_command("verify", str(path), language="en", stdout=out)

    assert "The evidence package verifies." in out.getvalue()
    assert "[FAIL]" not in out.getvalue()


def test_chairside_verify_exits_1_and_names_the_broken_entry(
    package_zip: bytes, tmp_path: Path
) -> None:
    listed = json.loads(members(package_zip)[package.EVENTS])["events"]
    path = tmp_path / "package.zip"
    path.write_bytes(rezip(package_zip, edit_events(lambda e: e.pop(3))))
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("verify", str(path), language="en", stdout=out)

    assert raised.value.returncode == 1
    assert f"First broken entry: {listed[4]['index']}" in out.getvalue()


def test_chairside_verify_from_the_shell_returns_the_exit_code(
    package_zip: bytes, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    good.write_bytes(package_zip)
    bad.write_bytes(rezip(package_zip, lambda f: f.update({package.FORM_DATA: b"{}"})))
    chairside = str(Path(sys.executable).parent / "chairside")

    # Another machine: no database at all (a path where none can be opened), English.
    env = {
        **os.environ,
        "LANGUAGE": "en",
        "CHAIRSIDE_DATABASE_URL": f"sqlite:///{tmp_path}/missing/none.sqlite3",
    }
    ok = subprocess.run(  # noqa: S603 - our own command
        [chairside, "verify", str(good)], capture_output=True, check=False, env=env
    )
    broken = subprocess.run(  # noqa: S603 - our own command
        [chairside, "verify", str(bad)], capture_output=True, check=False, env=env
    )

    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert broken.returncode == 1
    assert b"form-data.json" in broken.stdout


# --- building ------------------------------------------------------------------------------


def test_a_package_built_after_more_events_signs_a_head_covering_them(world: World) -> None:
    signed = signed_consent(world.org, world.clinic1, world.doctor, world.frontdesk)
    with tenant_scope(world.org, world.clinic1):
        heads_before = TreeHead.objects.count()
        downloaded = evidence.record(
            organization=world.org,
            kind=EvidenceEvent.Kind.DOWNLOADED,
            actor=f"staff:{world.frontdesk.pk}",
            document=signed.document,
            details={"what": "package"},
        )

        data = package.build_package(signed.document)

        assert TreeHead.objects.count() == heads_before + 1
        listed = json.loads(members(data)[package.EVENTS])
    assert listed["events"][-1]["index"] == downloaded.index
    assert listed["tree_size"] == downloaded.index + 1
    assert package.verify_package(data).ok
