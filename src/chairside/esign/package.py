"""The evidence package of a signed document (F4): one ZIP that proves, offline and to anyone,
what was signed, by whom, when and how — and `verify_package`, which checks such a ZIP with
nothing but its own content (no database row of the organization is needed).

Contents: the final PDF revision, the form data as canonical JSON, the hashes of what each
signer previewed, the document's evidence events each with its inclusion proof in the
organization's log, the time-stamped tree head (RFC 3161 token over the root), the
certificates (the organization's CA, the signers', the TSA's), the CA's CRL, SHA256SUMS and
a README with the commands to check it all with standard tools.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms, pem, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from django.utils import timezone
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus

from chairside.core.models import Organization
from chairside.esign import evidence, merkle, pki, tsa
from chairside.esign.models import (
    Document,
    EvidenceEvent,
    SignerSlot,
    SigningSession,
    TreeHead,
)
from chairside.esign.selectors.documents import latest_revision

FORMAT = "chairside-evidence-package/1"
# File names inside the ZIP (flat, so the README's commands run in the unpacked folder).
README = "README.txt"
SIGNED_PDF = "signed.pdf"
DOCUMENT_JSON = "document.json"
FORM_DATA = "form-data.json"
PREVIEWS = "previews.json"
EVENTS = "events.json"
TREE_HEAD = "tree-head.json"
TREE_ROOT = "tree-head-root.bin"
TREE_TSR = "tree-head.tsr"
CA_PEM = "ca.pem"
CRL = "crl.der"
TSA_PEM = "tsa.pem"
TSA_ROOT_PEM = "tsa-root.pem"
TSA_CRL = "tsa-crl.der"
SUMS = "SHA256SUMS"
REQUIRED = (
    SIGNED_PDF,
    DOCUMENT_JSON,
    FORM_DATA,
    PREVIEWS,
    EVENTS,
    TREE_HEAD,
    TREE_ROOT,
    TREE_TSR,
    CA_PEM,
    CRL,
    TSA_PEM,
    TSA_ROOT_PEM,
    TSA_CRL,
)
# A package is a few hundred KB; these bound what a hostile ZIP can make us unpack.
MAX_MEMBERS = 100
MAX_UNPACKED = 200 * 1024 * 1024
TIMESTAMP_SLACK = timedelta(seconds=2)
# Modification levels after a signature that keep it valid: only later signatures (form
# filling) or annotations were added ("none" includes validation data and time-stamps).
OK_LEVELS = ("none", "form_filling", "annotations")

README_TEXT = """\
电子签名证据包 / Evidence package — {number}
==========================================================

本证据包可在任何一台电脑上离线核验，无需联网，也无需访问诊所的系统。
This package can be checked offline on any computer, without the clinic's systems.

文件 / Files
  signed.pdf          已签署文件的最终版本（PAdES B-LTA）/ the final signed PDF (PAdES B-LTA)
  form-data.json      表单数据（规范化 JSON）/ the form data as canonical JSON
  document.json       文件编号、各签署人、各文件哈希 / number, signers, hashes
  previews.json       每位签署人预览并确认的版本的 SHA-256 / SHA-256 of what each signer previewed
  events.json         证据事件及其 Merkle 包含证明 / the evidence events with inclusion proofs
  tree-head.json      带时间戳的 Merkle 树根 / the time-stamped Merkle tree head
  tree-head-root.bin  树根（32 字节）/ the root itself (32 bytes)
  tree-head.tsr       树根的 RFC 3161 时间戳 / the RFC 3161 time-stamp over the root
  ca.pem, crl.der     机构 CA 证书及其吊销列表 / the organization's CA certificate and CRL
  signer-*.pem        签署人证书 / the signers' certificates
  tsa.pem, tsa-root.pem  时间戳服务证书及其根证书 / the time-stamping authority and its root
  tsa-crl.der         时间戳根证书的吊销列表 / the time-stamping root's CRL
  SHA256SUMS          以上所有文件的 SHA-256 / SHA-256 of every file above

核验 / How to verify
  1. 所有文件完整 / every file is intact:
       sha256sum -c SHA256SUMS
  2. 全部检查（签名、数据哈希、事件证明、时间戳）/ everything at once:
       chairside verify package.zip
  3. PDF 签名（pyHanko，离线，使用文件内嵌的验证数据）/ the PDF signatures with pyHanko,
     offline (from the validation data embedded in the file):
       pyhanko sign adesverify --trust-replace --trust ca.pem --trust tsa-root.pem signed.pdf
     能访问诊所的吊销列表地址时也可 / or, with the clinic's CRL address reachable:
       pyhanko sign validate --pretty-print --trust-replace \\
         --trust ca.pem --trust tsa-root.pem signed.pdf
  4. 证据日志树根的时间戳（OpenSSL）/ the tree head's time-stamp with OpenSSL:
       openssl ts -verify -in tree-head.tsr -data tree-head-root.bin \\
         -CAfile tsa-root.pem -untrusted tsa.pem
  5. 表单数据 / the form data:
       sha256sum form-data.json
     应等于 document.json 中的 data_sha256 / equals data_sha256 in document.json

CA 证书指纹 / CA certificate fingerprint (SHA-256):
  {ca_fingerprint}
请与诊所公布的 CA 证书核对（{ca_url}）。
Compare it with the CA certificate the clinic publishes ({ca_url}).

法律效力说明 / Legal note: 本系统内置的 CA 与时间戳服务可供任何人核验；在中国，只有依法设立的
电子认证服务机构签发的证书和经认可的时间戳服务才使电子签名成为《电子签名法》所称"可靠的电子签名"。
The built-in CA and TSA make signatures anyone can verify; in China only a licensed CA and an
accredited TSA give them the legal weight of a "reliable electronic signature".
"""


# --- building ------------------------------------------------------------------------------


def _pem_to_der(text: str) -> bytes:
    _type, _headers, der = pem.unarmor(text.encode())
    return bytes(der)


def _der_to_pem(der: bytes) -> str:
    return pem.armor("CERTIFICATE", der).decode()


def _fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _timestamp_response(token_der: bytes) -> bytes:
    """The stored token as a full TimeStampResp, the form `openssl ts -verify -in` reads."""
    token = cms.ContentInfo.load(token_der)
    granted = tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")})
    return bytes(tsp.TimeStampResp({"status": granted, "time_stamp_token": token}).dump())


def _iso(value: datetime | None) -> str | None:
    return evidence.iso_utc(value) if value is not None else None


def _covering_head(organization: Organization, events: list[EvidenceEvent]) -> TreeHead:
    """The latest tree head, signed anew when it does not cover the document's last event."""
    head = TreeHead.objects.order_by("-size").first()
    if head is None or (events and head.size <= events[-1].index):
        head = evidence.sign_tree_head(organization)
    return head  # type: ignore[no-any-return]


def build_package(document: Document) -> bytes:
    """The evidence package of `document` as ZIP bytes (its final revision so far)."""
    with evidence.organization_scope(document.organization_id):
        return _build(Document.objects.select_related("clinic").get(pk=document.pk))


def _build(document: Document) -> bytes:
    organization = Organization.objects.get(pk=document.organization_id)
    final = latest_revision(document)
    events = list(
        EvidenceEvent.objects.filter(document=document).select_related("document").order_by("index")
    )
    head = _covering_head(organization, events)
    tree = merkle.MerkleTree(evidence.leaf_hashes(head.size))
    if tree.size != head.size or tree.root.hex() != head.root_sha256:
        raise evidence.EvidenceLogBroken("the log no longer matches its latest tree head")

    slots = list(
        SignerSlot.objects.filter(document=document).select_related("certificate").order_by("order")
    )
    sessions = {
        s.slot_id: s
        for s in SigningSession.objects.filter(
            slot__document=document, finished_at__isnull=False
        ).order_by("finished_at")
    }
    files: dict[str, bytes] = {}
    signers: list[dict[str, Any]] = []
    previews: list[dict[str, Any]] = []
    for slot in slots:
        entry: dict[str, Any] = {
            "order": slot.order,
            "role": slot.role,
            "field": slot.field_name,
            "status": slot.status,
            "signed_at": _iso(slot.signed_at),
        }
        if slot.certificate is not None:
            name = f"signer-{slot.order}-{slot.role}.pem"
            files[name] = slot.certificate.certificate_pem.encode()
            entry.update(
                certificate=name,
                certificate_serial=slot.certificate.serial,
                subject=slot.certificate.subject_name,
            )
        signers.append(entry)
        session = sessions.get(slot.pk)
        if session is not None:
            previews.append(
                {
                    "order": slot.order,
                    "role": slot.role,
                    "field": slot.field_name,
                    "preview_sha256": session.preview_sha256,
                    "document_digest": session.document_digest,
                }
            )

    ca_der = pki.ca_certificate_der(organization)
    tsa_pem, tsa_root_pem = tsa.tsa_chain_pems()
    token = bytes(head.timestamp_token)
    final_pdf = bytes(final.pdf)
    files[SIGNED_PDF] = final_pdf
    files[FORM_DATA] = document.data_json.encode("utf-8")
    files[DOCUMENT_JSON] = _json(
        {
            "format": FORMAT,
            "number": document.number,
            "status": document.status,
            "organization": organization.name,
            "created_at": _iso(document.created_at),
            "completed_at": _iso(document.completed_at),
            "final_revision": {
                "number": final.number,
                "kind": final.kind,
                "sha256": final.sha256,
            },
            "data_sha256": document.data_sha256,
            "signers": signers,
            "ca_sha256": _fingerprint(ca_der),
            "tsa_root_sha256": _fingerprint(_pem_to_der(tsa_root_pem)),
            "packaged_at": _iso(timezone.now()),
        }
    )
    files[PREVIEWS] = _json(previews)
    files[EVENTS] = _json(
        {
            "tree_size": head.size,
            "root_sha256": head.root_sha256,
            "events": [
                {
                    **evidence.event_fields(event),
                    "leaf_sha256": event.leaf_sha256,
                    "inclusion_proof": [p.hex() for p in tree.inclusion_proof(event.index)],
                }
                for event in events
                if event.index < head.size
            ],
        }
    )
    files[TREE_HEAD] = _json(
        {
            "size": head.size,
            "root_sha256": head.root_sha256,
            "timestamp": _iso(tsa.token_time(token)),
            "hash": "RFC 6962 (SHA-256)",
            "timestamp_imprint": "SHA-256 of tree-head-root.bin",
        }
    )
    files[TREE_ROOT] = bytes.fromhex(head.root_sha256)
    files[TREE_TSR] = _timestamp_response(token)
    files[CA_PEM] = _der_to_pem(ca_der).encode()
    files[CRL] = pki.crl_der(organization)
    files[TSA_PEM] = tsa_pem.encode()
    files[TSA_ROOT_PEM] = tsa_root_pem.encode()
    files[TSA_CRL] = tsa.tsa_crl_der()
    files[README] = README_TEXT.format(
        number=document.number,
        ca_fingerprint=_fingerprint(ca_der),
        ca_url=pki.crl_url(organization.pk).removesuffix(".crl") + ".crt",
    ).encode("utf-8")
    files[SUMS] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    ).encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        stamp = timezone.localtime(timezone.now()).timetuple()[:6]
        for name in (README, SUMS, *sorted(set(files) - {README, SUMS})):
            info = zipfile.ZipInfo(f"{document.number}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


# --- verifying -----------------------------------------------------------------------------


@dataclass
class Finding:
    """One check of the package: passed or not, in words."""

    ok: bool
    message: str


@dataclass
class PackageReport:
    """What `verify_package` found; `ok` only when every check passed."""

    number: str = ""
    findings: list[Finding] = field(default_factory=list)
    # The PDF signatures as esign.validation reports them (offline, the package's CA + CRL).
    signatures: list[Any] = field(default_factory=list)
    events: int = 0
    tree_size: int = 0
    tree_root: str = ""
    timestamp: datetime | None = None
    first_broken_index: int | None = None
    ca_sha256: str = ""
    tsa_root_sha256: str = ""
    # Whether the package's CA was checked against one given by the verifier (`--ca`).
    ca_pinned: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.findings) and all(f.ok for f in self.findings)

    def passed(self, message: str) -> None:
        self.findings.append(Finding(True, message))

    def failed(self, message: str) -> None:
        self.findings.append(Finding(False, message))


class _Unreadable(Exception):
    pass


def _unpack(zip_bytes: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except zipfile.BadZipFile as exc:
        raise _Unreadable(_("This is not a ZIP file.")) from exc
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise _Unreadable(_("The ZIP file is too large to be an evidence package."))
        files: dict[str, bytes] = {}
        for info in infos:
            # One top folder (the document number) or none; nothing else is expected.
            name = info.filename.rsplit("/", 1)[-1]
            if name in files:
                raise _Unreadable(_("The package holds the file %(name)s twice.") % {"name": name})
            try:
                files[name] = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise _Unreadable(
                    _("The file %(name)s in the package is damaged.") % {"name": name}
                ) from exc
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        raise _Unreadable(_("The package lacks %(files)s.") % {"files": ", ".join(missing)})
    return files


def _load_json(files: Mapping[str, bytes], name: str) -> Any:
    try:
        return json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Unreadable(_("%(name)s is not valid JSON.") % {"name": name}) from exc


def verify_package(zip_bytes: bytes, *, expected_ca: bytes | None = None) -> PackageReport:
    """Check an evidence package using only its own content: the file checksums, the PDF
    signatures (trusting the package's CA and CRL, offline; `expected_ca` pins that CA),
    the form data's hash, every event's leaf and inclusion proof against the time-stamped
    root, the order of the document's events, and the time-stamp over the root. Names the
    first broken entry."""
    report = PackageReport()
    try:
        files = _unpack(zip_bytes)
        document = _load_json(files, DOCUMENT_JSON)
        events_file = _load_json(files, EVENTS)
        previews = _load_json(files, PREVIEWS)
        tree_head = _load_json(files, TREE_HEAD)
        if not isinstance(document, dict) or not isinstance(events_file, dict):
            raise _Unreadable(_("The package's JSON files do not have the expected shape."))
    except _Unreadable as exc:
        report.failed(str(exc))
        return report
    report.number = str(document.get("number", ""))
    _check_sums(files, report)
    pdf = files[SIGNED_PDF]
    events = _check_events(events_file, tree_head, files, report)
    _check_timestamp(files, events, report)
    _check_bindings(document, files, events, report)
    _check_signatures(pdf, files, report)
    _check_previews(pdf, previews, events, report)
    if expected_ca is not None:
        _check_expected_ca(files, expected_ca, report)
    return report


def _check_expected_ca(files: Mapping[str, bytes], expected: bytes, report: PackageReport) -> None:
    """The package's CA is the one the clinic publishes (PEM or DER given)."""
    expected_der = (
        _pem_to_der(expected.decode("ascii", "replace")) if b"-----BEGIN" in expected else expected
    )
    report.ca_pinned = True
    if _fingerprint(expected_der) == _fingerprint(_pem_to_der(files[CA_PEM].decode())):
        report.passed(_("The package's CA is the CA certificate given."))
    else:
        report.failed(_("The package's CA is NOT the CA certificate given."))


def _check_sums(files: Mapping[str, bytes], report: PackageReport) -> None:
    sums = files.get(SUMS)
    if sums is None:
        report.failed(_("The package has no SHA256SUMS."))
        return
    listed: dict[str, str] = {}
    for line in sums.decode("utf-8", "replace").splitlines():
        digest, _sep, name = line.partition("  ")
        if name:
            listed[name.strip()] = digest.strip().lower()
    bad = [
        name
        for name, data in files.items()
        if name != SUMS and listed.get(name) != hashlib.sha256(data).hexdigest()
    ]
    gone = sorted(set(listed) - set(files))
    if bad or gone:
        report.failed(
            _("These files do not match SHA256SUMS: %(files)s.")
            % {"files": ", ".join(sorted(bad) + gone)}
        )
    else:
        report.passed(_("Every file matches SHA256SUMS."))


def _leaf_from_listing(entry: Mapping[str, Any]) -> str:
    return evidence.leaf_sha256(
        evidence.leaf_fields(
            index=entry["index"],
            kind=entry["kind"],
            at=entry["at"],
            actor=entry["actor"],
            document=entry["document"],
            details=entry["details"],
            previous_sha256=entry["previous_sha256"],
        )
    )


def _check_events(
    events_file: Mapping[str, Any],
    tree_head: Any,
    files: Mapping[str, bytes],
    report: PackageReport,
) -> list[dict[str, Any]]:
    """Each event's leaf recomputed and proven in the tree; the document's chain in order.
    Returns the events that passed (all of them, or those before the first broken one)."""
    try:
        size = int(events_file["tree_size"])
        root_hex = str(events_file["root_sha256"])
        listed = list(events_file["events"])
        root = bytes.fromhex(root_hex)
    except (KeyError, TypeError, ValueError):
        report.failed(_("events.json does not have the expected shape."))
        return []
    report.tree_size, report.tree_root = size, root_hex
    head_ok = (
        isinstance(tree_head, dict)
        and tree_head.get("size") == size
        and tree_head.get("root_sha256") == root_hex
        and files[TREE_ROOT] == root
    )
    if not head_ok:
        report.failed(_("The tree head files do not agree on the size and root of the log."))
    good: list[dict[str, Any]] = []
    previous_leaf = ""
    previous_index = -1
    number = report.number

    def broken(index: Any, message: str) -> list[dict[str, Any]]:
        report.first_broken_index = index if isinstance(index, int) else None
        report.failed(message)
        return good

    for position, entry in enumerate(listed):
        try:
            index = entry["index"]
            leaf = _leaf_from_listing(entry)
            proof = [bytes.fromhex(p) for p in entry["inclusion_proof"]]
            stored = str(entry["leaf_sha256"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return broken(
                None,
                _("Event %(position)s of events.json is incomplete.") % {"position": position + 1},
            )
        if not isinstance(index, int) or index <= previous_index:
            return broken(
                index,
                _("Entry %(index)s is out of order in the list of events.") % {"index": index},
            )
        if leaf != stored:
            return broken(
                index,
                _("Entry %(index)s was changed: its contents do not match its hash.")
                % {"index": index},
            )
        if not merkle.verify_inclusion(bytes.fromhex(leaf), index, size, proof, root):
            return broken(
                index,
                _("Entry %(index)s is not in the time-stamped evidence log.") % {"index": index},
            )
        if entry["document"] != number:
            return broken(
                index,
                _("Entry %(index)s belongs to another document.") % {"index": index},
            )
        if entry["previous_sha256"] != previous_leaf:
            return broken(
                index,
                _(
                    "Entry %(index)s does not follow the previous event of its document: "
                    "an event was removed or reordered."
                )
                % {"index": index},
            )
        previous_leaf, previous_index = leaf, index
        good.append(dict(entry))
    report.events = len(good)
    if not good:
        report.failed(_("The package lists no evidence events."))
    else:
        report.passed(
            _(
                "All %(count)s events are in the time-stamped evidence log of %(size)s "
                "entries, in order, none missing."
            )
            % {"count": len(good), "size": size}
        )
    return good


def _tst_status(token: cms.ContentInfo, data: bytes, files: Mapping[str, bytes]) -> Any:
    from chairside.esign import validation  # pyHanko's validation stack, loaded when used

    tsa_cert = asn1_x509.Certificate.load(_pem_to_der(files[TSA_PEM].decode()))
    root_cert = asn1_x509.Certificate.load(_pem_to_der(files[TSA_ROOT_PEM].decode()))
    context = validation.validation_context(
        trust_roots=[root_cert],
        crls=[asn1_crl.CertificateList.load(files[TSA_CRL])],
        other_certs=[tsa_cert],
    )
    kwargs = tsa.run_sync(
        validate_tst_signed_data(
            token["content"],
            context,
            lambda algorithm: hashlib.new(algorithm, data).digest(),
        )
    )
    return TimestampSignatureStatus(**kwargs)


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _check_timestamp(
    files: Mapping[str, bytes], events: list[dict[str, Any]], report: PackageReport
) -> None:
    try:
        response = tsp.TimeStampResp.load(files[TREE_TSR])
        granted = response["status"]["status"].native in ("granted", "granted_with_mods")
        token = response["time_stamp_token"]
        status = _tst_status(token, files[TREE_ROOT], files) if granted else None
    except Exception:  # noqa: BLE001 - any parse or validation error means "does not verify"
        status = None
    report.tsa_root_sha256 = _fingerprint(_pem_to_der(files[TSA_ROOT_PEM].decode()))
    if status is None or not (status.intact and status.valid and status.trusted):
        report.failed(_("The time-stamp over the evidence log's root does not verify."))
        return
    report.timestamp = status.timestamp
    last_event = _parse_time(max((str(e["at"]) for e in events), default=""))
    # A TSA may round its time to the second (RFC 3161 accuracy): allow that much.
    if last_event is not None and status.timestamp + TIMESTAMP_SLACK < last_event:
        report.failed(_("The evidence log's time-stamp is older than its last event."))
        return
    report.passed(
        _("The evidence log's root was time-stamped at %(time)s.")
        % {"time": evidence.iso_utc(status.timestamp)}
    )


def _event_detail(events: list[dict[str, Any]], kind: str, key: str) -> list[Any]:
    return [
        e["details"].get(key)
        for e in events
        if e["kind"] == kind and isinstance(e.get("details"), dict) and key in e["details"]
    ]


def _check_bindings(
    document: Mapping[str, Any],
    files: Mapping[str, bytes],
    events: list[dict[str, Any]],
    report: PackageReport,
) -> None:
    """The signed PDF and the form data are the ones the time-stamped log names."""
    pdf_sha256 = hashlib.sha256(files[SIGNED_PDF]).hexdigest()
    final = document.get("final_revision") or {}
    logged_revisions = [
        e["details"].get(evidence.DETAIL_REVISION_SHA256)
        for e in events
        if isinstance(e.get("details"), dict)
    ]
    logged_revisions = [r for r in logged_revisions if r]
    if final.get("sha256") != pdf_sha256:
        report.failed(_("signed.pdf is not the final revision document.json names."))
    elif not logged_revisions or logged_revisions[-1] != pdf_sha256:
        report.failed(_("signed.pdf is not the last revision recorded in the evidence log."))
    else:
        report.passed(
            _("signed.pdf (SHA-256 %(sha256)s) is the last revision in the evidence log.")
            % {"sha256": pdf_sha256}
        )

    data_sha256 = hashlib.sha256(files[FORM_DATA]).hexdigest()
    logged_data = _event_detail(events, EvidenceEvent.Kind.CREATED, evidence.DETAIL_DATA_SHA256)
    if document.get("data_sha256") != data_sha256:
        report.failed(_("form-data.json does not match the data hash of the document."))
    elif not logged_data or logged_data[0] != data_sha256:
        report.failed(_("form-data.json is not the data recorded when the document was created."))
    else:
        try:
            json.loads(files[FORM_DATA].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            report.failed(_("form-data.json is not valid JSON."))
            return
        report.passed(
            _("The form data matches its hash recorded in the evidence log (%(sha256)s).")
            % {"sha256": data_sha256}
        )


def _check_signatures(pdf: bytes, files: Mapping[str, bytes], report: PackageReport) -> None:
    """Every signature and document time-stamp of signed.pdf, trusting only the package's
    CA and TSA root with their CRLs (offline)."""
    from chairside.esign import validation  # pyHanko's validation stack, loaded when used

    ca_der = _pem_to_der(files[CA_PEM].decode())
    report.ca_sha256 = _fingerprint(ca_der)
    try:
        roots = [
            asn1_x509.Certificate.load(ca_der),
            asn1_x509.Certificate.load(_pem_to_der(files[TSA_ROOT_PEM].decode())),
        ]
        crls = [
            asn1_crl.CertificateList.load(files[CRL]),
            asn1_crl.CertificateList.load(files[TSA_CRL]),
        ]
        result = validation.validate_pdf(pdf, trust_roots=roots, crls=crls)
    except Exception:  # noqa: BLE001 - an unreadable PDF or certificate fails the check
        report.failed(_("The signatures of signed.pdf cannot be read."))
        return
    report.signatures = list(result.signatures)
    if not result.readable or not report.signatures:
        report.failed(_("signed.pdf has no readable signatures."))
        return
    for signature in report.signatures:
        if signature_ok(signature):
            report.passed(
                _("Signature %(field)s is valid: intact, time-stamped, trusted, not revoked.")
                % {"field": signature.field}
            )
        else:
            report.failed(
                _("Signature %(field)s is not valid: %(problem)s")
                % {"field": signature.field, "problem": signature_problem(signature)}
            )
    stamps = list(result.document_timestamps)
    if stamps and all(t.valid for t in stamps):
        report.passed(_("The archive time-stamp (PAdES B-LTA) of signed.pdf is valid."))
    elif stamps:
        report.failed(_("The archive time-stamp of signed.pdf is not valid."))


def signature_ok(signature: Any) -> bool:
    """Valid (esign.validation: intact, time-stamped, trusted, neither revoked nor expired at
    the signing time) and the file changed after it only by later signatures."""
    return bool(signature.valid and signature.modification_level in OK_LEVELS)


def signature_problem(signature: Any) -> str:
    """Why a signature fails, in words."""
    if not signature.intact:
        return str(_("the document was changed after it was signed."))
    if signature.modification_level not in OK_LEVELS or not signature.docmdp_ok:
        return str(_("the document was modified after signing beyond adding signatures."))
    if signature.revoked:
        return str(_("the signer's certificate was revoked."))
    if signature.expired:
        return str(_("the signer's certificate was not valid at the signing time."))
    if not signature.trusted:
        return str(_("the signer's certificate is not from the organization's CA."))
    if not signature.timestamp_trusted:
        return str(_("the signature has no trusted time-stamp."))
    return str(_("the signature does not verify."))


def prepared_revision_sha256(pdf: bytes, byte_range: list[int]) -> str:
    """SHA-256 of the prepared PDF a signer previewed, rebuilt from the signed file: the
    signed revision with its signature contents back to the zeros they were reserved as."""
    start, gap_end = byte_range[1], byte_range[2]
    end = byte_range[2] + byte_range[3]
    if not 0 < start < gap_end <= end <= len(pdf):
        return ""
    revision = bytearray(pdf[:end])
    # The reserved region is "<" hex digits ">": the prepared file holds zeros there.
    revision[start + 1 : gap_end - 1] = b"0" * (gap_end - start - 2)
    return hashlib.sha256(bytes(revision)).hexdigest()


def _signature_byte_ranges(pdf: bytes) -> dict[str, list[int]]:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return {
        str(s.field_name): [int(v) for v in s.byte_range]
        for s in reader.embedded_regular_signatures
    }


def _check_previews(
    pdf: bytes, previews: Any, events: list[dict[str, Any]], report: PackageReport
) -> None:
    """Each signer's previewed hash is in the log, and the signed revision is exactly that
    preview with the signature filled in."""
    if not isinstance(previews, list):
        report.failed(_("previews.json does not have the expected shape."))
        return
    logged = set(_event_detail(events, EvidenceEvent.Kind.SIGNED, evidence.DETAIL_PREVIEW_SHA256))
    try:
        ranges = _signature_byte_ranges(pdf)
    except Exception:  # noqa: BLE001 - the signature check above reports an unreadable PDF
        ranges = {}
    for preview in previews:
        try:
            field_name, expected = str(preview["field"]), str(preview["preview_sha256"])
        except (KeyError, TypeError):
            report.failed(_("previews.json does not have the expected shape."))
            return
        byte_range = ranges.get(field_name)
        if expected not in logged:
            report.failed(
                _("The preview of signature %(field)s is not recorded in the evidence log.")
                % {"field": field_name}
            )
        elif byte_range is None or prepared_revision_sha256(pdf, byte_range) != expected:
            report.failed(
                _("Signature %(field)s was not made over the rendering its signer previewed.")
                % {"field": field_name}
            )
        else:
            report.passed(
                _("Signature %(field)s was made over exactly the rendering its signer previewed.")
                % {"field": field_name}
            )
