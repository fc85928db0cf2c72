"""PAdES signatures on PDF documents with pyHanko's interrupted signing (F3).

`prepare` adds the signer's visible signature widget and a reserved signature in a new
incremental revision and returns the DER signed attributes the signer's browser signs
(WebCrypto ECDSA P-256 over those bytes); `finish` checks that signature against the
certificate, adds an RFC 3161 time-stamp (PAdES B-T) and writes it in. `archive` adds
validation data and a document time-stamp when everyone has signed (PAdES B-LTA).

The file stays PDF/A-3b: the catalog keeps claiming PDF 1.7 (only the ESIC extension is
registered), the Info and XMP producers stay equal, and appearances bring no font (text is
drawn as glyph outlines of Noto Sans CJK SC; a drawn signature is an image).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.utils.translation import gettext_lazy as _
from fontTools.pens.basePen import BasePen
from PIL import Image
from pyhanko.pdf_utils import content, layout
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import constants as signer_constants
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import dss
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from chairside.core.models import Organization
from chairside.esign import pki, tsa
from chairside.esign.errors import (
    CertificateNotUsable,
    PdfInvalid,
    SignatureInvalid,
    TsaUnavailable,
)
from chairside.esign.models import Certificate
from chairside.esign.validation import archive_context

MD_ALGORITHM = "sha256"
ECDSA_SHA256 = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
# Debian's fonts-noto-cjk: a collection, of which the appearance uses one face.
CJK_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
)
CJK_FACE = "Noto Sans CJK SC"
APPEARANCE_FONT_SIZE = 10.0
TEXT_LEADING = 1.3
TEXT_PADDING = 3.0
TEXT_COLOUR = "0.04 0.16 0.44 rg"
# Field names pyHanko writes into the document time-stamp of the archive step.
ARCHIVE_FIELD_PREFIX = "Archive"


@dataclass
class Prepared:
    """A document waiting for its signature: the revision with the reserved signature, the
    digest over its byte range and the DER signed attributes the signer signs."""

    prepared_pdf: bytes
    byte_range: list[int]
    document_digest: bytes
    signed_attributes: bytes


# --- appearance -------------------------------------------------------------------------------


class _OutlinePen(BasePen):  # type: ignore[misc]
    """Glyph outlines as PDF path operators, in font units."""

    def __init__(self, glyph_set: Any) -> None:
        super().__init__(glyph_set)
        self.ops: list[str] = []

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(f"{pt[0]:g} {pt[1]:g} m")

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(f"{pt[0]:g} {pt[1]:g} l")

    def _curveToOne(
        self, a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]
    ) -> None:
        self.ops.append(f"{a[0]:g} {a[1]:g} {b[0]:g} {b[1]:g} {c[0]:g} {c[1]:g} c")

    def _closePath(self) -> None:
        self.ops.append("h")


_font_lock = threading.Lock()


@cache
def _cjk_font() -> Any:
    from fontTools.ttLib import TTCollection, TTFont

    for path in CJK_FONT_FILES:
        if path.exists():
            faces = TTCollection(str(path), lazy=True).fonts
            number = next(
                (i for i, face in enumerate(faces) if face["name"].getDebugName(1) == CJK_FACE), 0
            )
            return TTFont(str(path), fontNumber=number, lazy=True)
    raise RuntimeError("No CJK font found: install Debian's fonts-noto-cjk.")


class TextOutlines(content.PdfContent):
    """Lines of text drawn as filled glyph outlines of a CJK font, fitted into a box.

    No font goes into the file (PDF/A wants every font embedded; pyHanko's own text stamps
    use a standard font, and its OpenType engine needs optional HarfBuzz bindings), so the
    appearance costs a few kilobytes instead of a font subset per signature."""

    def __init__(self, text: str, *, width: float, height: float) -> None:
        super().__init__(box=layout.BoxConstraints(width=width, height=height))
        self.lines = [line.strip() for line in text.splitlines() if line.strip()]
        self.width = width
        self.height = height

    def render(self) -> bytes:
        with _font_lock:
            return self._render()

    def _render(self) -> bytes:
        font = _cjk_font()
        cmap = font.getBestCmap()
        glyph_set = font.getGlyphSet()
        metrics = font["hmtx"]
        units = font["head"].unitsPerEm
        shaped = []
        for line in self.lines:
            glyphs = [cmap.get(ord(ch), ".notdef") for ch in line]
            shaped.append((glyphs, sum(metrics[g][0] for g in glyphs)))
        if not shaped:
            return b""
        pad = TEXT_PADDING
        widest = max(advance for _glyphs, advance in shaped) or units
        size = min(
            APPEARANCE_FONT_SIZE,
            (self.width - 2 * pad) * units / widest,
            (self.height - 2 * pad) / (len(shaped) * TEXT_LEADING),
        )
        size = max(size, 1.0)
        leading = size * TEXT_LEADING
        block = leading * len(shaped)
        # baseline of the first line: the block centred vertically, descenders inside it
        y = (self.height + block) / 2 - size * 0.88
        scale = size / units
        ops = [TEXT_COLOUR]
        for glyphs, _advance in shaped:
            x = pad
            for glyph in glyphs:
                pen = _OutlinePen(glyph_set)
                glyph_set[glyph].draw(pen)
                if pen.ops:
                    ops.append(
                        f"q {scale:.5f} 0 0 {scale:.5f} {x:.2f} {y:.2f} cm "
                        + " ".join(pen.ops)
                        + " f Q"
                    )
                x += metrics[glyph][0] * scale
            y -= leading
        return "\n".join(ops).encode("ascii")


def _stamp_style(
    appearance_png: bytes | None, appearance_text: str, *, width: float, height: float
) -> StaticStampStyle:
    if appearance_png:
        try:
            image: Image.Image = Image.open(io.BytesIO(appearance_png))
            image.load()
        except (OSError, ValueError):
            raise PdfInvalid(_("The drawn signature is not a PNG image.")) from None
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        background: content.PdfContent = PdfImage(image)
    else:
        background = TextOutlines(appearance_text, width=width, height=height)
    return StaticStampStyle(
        border_width=0,
        background=background,
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )


# --- PDF/A-friendly signing -------------------------------------------------------------------


def _register_pades_extension(writer: BasePdfFileWriter) -> None:
    # pyHanko would also register ISO 32002 for a P-256 key, bumping the catalog to PDF 2.0,
    # which a PDF/A-3 (PDF 1.7) file must not claim. The ESIC extension alone validates.
    writer.ensure_output_version(version=(1, 7))
    if writer.output_version < (2, 0):
        writer.register_extension(signer_constants.ESIC_EXTENSION_1)


class _PdfASigner(signers.PdfSigner):
    def register_extensions(self, pdf_out: BasePdfFileWriter, *, md_algorithm: str) -> None:
        _register_pades_extension(pdf_out)


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    except (PdfError, ValueError, KeyError):
        raise PdfInvalid(_("The document is not a readable PDF.")) from None
    try:
        info = writer.trailer["/Info"]
    except KeyError:
        return writer
    if "/Producer" in info and VENDOR not in str(info["/Producer"]):
        # pyHanko rewrites the XMP producer but appends to the Info one: PDF/A wants the two
        # equal, so the renderer's Info producer goes before the first signature (pyHanko
        # then writes its own into both).
        del info["/Producer"]
    return writer


def _chain_registry(certificate: Certificate) -> SimpleCertificateStore:
    ca_der = pki.ca_certificate_der(certificate.organization)
    return SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(ca_der)])


def _byte_range_digest(pdf: bytes, start: int, end: int) -> bytes:
    digest = hashlib.sha256()
    digest.update(pdf[:start])
    digest.update(pdf[end:])
    return digest.digest()


# --- the contract -----------------------------------------------------------------------------


def prepare(
    pdf: bytes,
    *,
    certificate: Certificate,
    field_name: str,
    page: int,
    box: list[float],
    appearance_png: bytes | None,
    appearance_text: str,
) -> Prepared:
    """Add the signature widget and a reserved signature in a new revision; compute the
    digest over the byte range and the signed attributes for the signer to sign."""
    stamper = tsa.timestamper()  # loads the TSA key now, outside the event loop
    registry = _chain_registry(certificate)
    return tsa.run_sync(
        _prepare(
            pdf,
            certificate=certificate,
            registry=registry,
            stamper=stamper,
            field_name=field_name,
            page=page,
            box=box,
            appearance_png=appearance_png,
            appearance_text=appearance_text,
        )
    )


async def _prepare(
    pdf: bytes,
    *,
    certificate: Certificate,
    registry: SimpleCertificateStore,
    stamper: TimeStamper,
    field_name: str,
    page: int,
    box: list[float],
    appearance_png: bytes | None,
    appearance_text: str,
) -> Prepared:
    writer = _writer(pdf)
    x1, y1, x2, y2 = (float(v) for v in box)
    field_spec = fields.SigFieldSpec(
        sig_field_name=field_name,
        on_page=page,
        box=(x1, y1, x2, y2),  # type: ignore[arg-type]
    )
    signer = signers.ExternalSigner(
        signing_cert=pki.asn1_certificate(certificate.certificate_pem),
        cert_registry=registry,
        signature_value=None,  # a 256-byte placeholder sizes the reserved space
        signature_mechanism=ECDSA_SHA256,
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=MD_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        name=certificate.subject_name,
    )
    pdf_signer = _PdfASigner(
        meta,
        signer=signer,
        timestamper=stamper,
        stamp_style=_stamp_style(
            appearance_png, appearance_text, width=abs(x2 - x1), height=abs(y2 - y1)
        ),
        new_field_spec=field_spec,
    )
    output = io.BytesIO()
    try:
        prepared_digest, _tbs, _out = await pdf_signer.async_digest_doc_for_signing(
            writer, output=output
        )
    except (SigningError, PdfError) as exc:
        raise PdfInvalid(
            _("The document cannot be signed: %(problem)s") % {"problem": exc}
        ) from exc
    signed_attrs = await signer.signed_attrs(
        prepared_digest.document_digest, MD_ALGORITHM, use_pades=True
    )
    prepared_pdf = output.getvalue()
    start = prepared_digest.reserved_region_start
    end = prepared_digest.reserved_region_end
    return Prepared(
        prepared_pdf=prepared_pdf,
        byte_range=[0, start, end, len(prepared_pdf) - end],
        document_digest=prepared_digest.document_digest,
        signed_attributes=signed_attrs.dump(),
    )


def finish(prepared: Prepared, *, certificate: Certificate, signature: bytes) -> bytes:
    """Embed the signer's signature (WebCrypto's 64-byte r||s), time-stamped.

    The signature is checked against the certificate before anything is written; a TSA
    failure raises TsaUnavailable and nothing is produced."""
    if len(signature) != 64:
        raise SignatureInvalid(_("The signature has the wrong length."))
    der_signature = algos.DSASignature.from_p1363(signature).dump()
    signed_attrs = _check_prepared(prepared)
    public_key = pki.load_certificate(certificate.certificate_pem).public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise CertificateNotUsable(_("This certificate has no ECDSA key."))
    try:
        public_key.verify(der_signature, prepared.signed_attributes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureInvalid(
            _("The signature does not match the signer's certificate and this document.")
        ) from None
    stamper = tsa.timestamper()
    registry = _chain_registry(certificate)
    return tsa.run_sync(
        _finish(
            prepared,
            signed_attrs=signed_attrs,
            certificate=certificate,
            registry=registry,
            der_signature=der_signature,
            stamper=stamper,
        )
    )


def _check_prepared(prepared: Prepared) -> cms.CMSAttributes:
    """The stored state must be self-consistent: the digest is the prepared file's and the
    signed attributes name that digest."""
    _zero, start, end, _rest = prepared.byte_range
    pdf = prepared.prepared_pdf
    if _byte_range_digest(pdf, start, end) != prepared.document_digest:
        raise SignatureInvalid(_("The prepared document changed. Start the signature again."))
    try:
        signed_attrs = cms.CMSAttributes.load(prepared.signed_attributes)
        message_digest = next(
            attr["values"][0].native
            for attr in signed_attrs
            if attr["type"].native == "message_digest"
        )
    except (ValueError, StopIteration):
        raise SignatureInvalid(_("The prepared signature is damaged. Start again.")) from None
    if message_digest != prepared.document_digest:
        raise SignatureInvalid(_("The prepared signature is damaged. Start again."))
    return signed_attrs


async def _finish(
    prepared: Prepared,
    *,
    signed_attrs: cms.CMSAttributes,
    certificate: Certificate,
    registry: SimpleCertificateStore,
    der_signature: bytes,
    stamper: TimeStamper,
) -> bytes:
    signer = signers.ExternalSigner(
        signing_cert=pki.asn1_certificate(certificate.certificate_pem),
        cert_registry=registry,
        signature_value=der_signature,
        signature_mechanism=ECDSA_SHA256,
    )
    signature_cms = await signer.async_sign_prescribed_attributes(
        MD_ALGORITHM, signed_attrs=signed_attrs, timestamper=stamper
    )
    _zero, start, end, _rest = prepared.byte_range
    output = io.BytesIO(prepared.prepared_pdf)
    try:
        await PdfTBSDocument.async_finish_signing(
            output,
            PreparedByteRangeDigest(prepared.document_digest, start, end),
            signature_cms,
        )
    except (SigningError, PdfError, ValueError) as exc:
        # e.g. the time-stamp made the container larger than the space reserved for it
        raise TsaUnavailable(
            _("The signature could not be completed: %(problem)s") % {"problem": exc}
        ) from exc
    return output.getvalue()


def sign_with_seal(
    pdf: bytes,
    *,
    certificate: Certificate,
    field_name: str,
    page: int,
    box: list[float],
    appearance_text: str,
    appearance_png: bytes | None = None,
) -> bytes:
    """The clinic seal signs with its server-held key, through the same prepare/finish."""
    if not certificate.seal_private_key_pem:
        raise CertificateNotUsable(_("Only a clinic seal certificate signs on the server."))
    pki.check_usable(certificate)
    key = pki.load_private_key(certificate.seal_private_key_pem)
    prepared = prepare(
        pdf,
        certificate=certificate,
        field_name=field_name,
        page=page,
        box=box,
        appearance_png=appearance_png,
        appearance_text=appearance_text,
    )
    r, s = decode_dss_signature(key.sign(prepared.signed_attributes, ec.ECDSA(hashes.SHA256())))
    return finish(prepared, certificate=certificate, signature=p1363(r, s))


def p1363(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# --- long-term archiving ----------------------------------------------------------------------


def archive(pdf: bytes, *, organization: Organization) -> bytes:
    """PAdES B-LTA: the certificates and CRLs every signature needs in the document security
    store, then a document time-stamp over all of it."""
    context = archive_context(organization)
    stamper = tsa.timestamper()
    return tsa.run_sync(_archive(pdf, context=context, stamper=stamper))


async def _archive(pdf: bytes, *, context: ValidationContext, stamper: TimeStamper) -> bytes:
    reader = PdfFileReader(io.BytesIO(pdf))
    writer = IncrementalPdfFileWriter.from_reader(reader)
    signatures = reader.embedded_regular_signatures
    for signature in signatures:
        await _add_validation_info(writer, signature, context)
    _register_pades_extension(writer)
    with_dss = io.BytesIO()
    writer.write(with_dss)
    existing = {sig.field_name for sig in reader.embedded_signatures}
    number = 1
    while f"{ARCHIVE_FIELD_PREFIX}{number}" in existing:
        number += 1
    ts_writer = IncrementalPdfFileWriter(with_dss)
    output = await signers.PdfTimeStamper(
        stamper, field_name=f"{ARCHIVE_FIELD_PREFIX}{number}"
    ).async_timestamp_pdf(ts_writer, MD_ALGORITHM)
    return cast(io.BytesIO, output).getvalue()


async def _add_validation_info(
    writer: IncrementalPdfFileWriter, signature: EmbeddedPdfSignature, context: ValidationContext
) -> None:
    paths = await dss.collect_validation_info(signature, context)
    dss.DocumentSecurityStore.supply_dss_in_writer(
        writer,
        signature.pkcs7_content.hex().encode("ascii"),
        validation_context=context,
        paths=paths,
    )


# --- preview ----------------------------------------------------------------------------------


def preview_pngs(pdf: bytes, *, dpi: int = 110) -> list[bytes]:
    """Each page as a PNG (poppler's pdftoppm), as the signer sees the prepared revision."""
    with tempfile.TemporaryDirectory(prefix="chairside-preview-") as tmp:
        source = Path(tmp) / "document.pdf"
        source.write_bytes(pdf)
        try:
            subprocess.run(  # noqa: S603 - fixed arguments, our own file
                ["pdftoppm", "-png", "-r", str(int(dpi)), str(source), str(Path(tmp) / "page")],  # noqa: S607
                check=True,
                capture_output=True,
                timeout=60,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise PdfInvalid(_("The document could not be rendered for preview.")) from exc
        pages = sorted(Path(tmp).glob("page*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        return [page.read_bytes() for page in pages]
