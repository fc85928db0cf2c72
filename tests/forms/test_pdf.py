"""A form as PDF (F2), checked with Poppler's tools as anyone would: every font embedded,
the Chinese text extractable, PDF/A-3b declared, a consent two A4 pages long, and each
signer's box where the layout put it (bottom-left origin, in points)."""

from __future__ import annotations

import re
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chairside.core.tenancy import tenant_scope
from chairside.forms.models import FormInstance
from chairside.forms.pdf import ROLE_LABELS, RenderedForm, render_instance_pdf
from tests.conftest import World
from tests.forms.conftest import Forms, make_form

A4 = (595.28, 841.89)


def _render(world: World, form: FormInstance, *, preview: bool = False) -> RenderedForm:
    with tenant_scope(world.org, world.clinic1):
        form = FormInstance.objects.select_related("version", "clinic").get(pk=form.pk)
        return render_instance_pdf(form, preview=preview)


def _tool(tmp_path: Path, pdf: bytes, *args: str) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    return subprocess.run(  # noqa: S603 - fixed Poppler tools on our own file
        [*args, str(path), "-"] if args[0] == "pdftotext" else [*args, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def implant(world: World, forms: Forms) -> RenderedForm:
    return _render(world, make_form(world, forms))


def test_every_font_is_embedded(implant: RenderedForm, tmp_path: Path) -> None:
    rows = _tool(tmp_path, implant.pdf, "pdffonts").splitlines()[2:]

    assert rows, "no fonts listed"
    assert any("Noto-Sans-CJK-SC" in row for row in rows)
    for row in rows:
        # name type encoding emb sub uni object ID: "emb" is the fourth column from the end.
        assert row.split()[-5] == "yes", row


def test_the_chinese_text_comes_back(implant: RenderedForm, tmp_path: Path) -> None:
    text = _tool(tmp_path, implant.pdf, "pdftotext", "-layout")
    flat = re.sub(r"\s+", "", text)

    for expected in (
        "种植知情同意书",
        "DowntownClinic",
        "患者姓名：陈晓明",
        "性别：男",
        "年龄：46岁",
        "拟行治疗项目：种植体植入（36）",
        "神经损伤",
        "☑同意医师视情况当即处理，并承担相应费用",
        "☐不同意，先中止手术再与我商量",
        "☑我已仔细阅读本同意书",
        "医疗机构（盖章）",
    ):
        assert expected in flat, expected
    assert "{{" not in text


def test_the_file_declares_pdf_a_3b(implant: RenderedForm, tmp_path: Path) -> None:
    metadata = _tool(tmp_path, implant.pdf, "pdfinfo", "-meta")

    assert implant.pdf.startswith(b"%PDF-1.7")
    assert 'pdfaid:part="3"' in metadata
    assert 'pdfaid:conformance="B"' in metadata
    assert "种植知情同意书" in metadata  # dc:title


@pytest.mark.parametrize("code", ["implant", "extraction", "ortho"])
def test_a_consent_is_two_a4_pages(world: World, forms: Forms, tmp_path: Path, code: str) -> None:
    template = getattr(forms, code)
    rendered = _render(world, make_form(world, forms, template, data={}))

    info = _tool(tmp_path, rendered.pdf, "pdfinfo")
    assert rendered.pages == 2
    assert re.search(r"^Pages:\s+2$", info, re.MULTILINE)
    assert re.search(r"^Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)$", info, re.MULTILINE)


class _Words(HTMLParser):
    """The words of `pdftotext -bbox` with their boxes (top-left origin, points)."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: list[list[tuple[str, list[float]]]] = []
        self._box: list[float] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "page":
            self.pages.append([])
        elif tag == "word":
            self._box = [float(values[k] or 0) for k in ("xmin", "ymin", "xmax", "ymax")]

    def handle_data(self, data: str) -> None:
        if self._box is not None and data.strip():
            self.pages[-1].append((data.strip(), self._box))
            self._box = None


def test_each_signer_box_lies_on_its_page_beside_its_label(
    implant: RenderedForm, tmp_path: Path
) -> None:
    words = _Words()
    words.feed(_tool(tmp_path, implant.pdf, "pdftotext", "-bbox"))

    assert set(implant.signature_boxes) == {"patient", "doctor", "seal"}
    for role, (page, (x1, y1, x2, y2)) in implant.signature_boxes.items():
        assert 0 <= page < implant.pages
        assert 0 < x1 < x2 <= A4[0]
        assert 0 < y1 < y2 <= A4[1]
        label = ROLE_LABELS[role]
        found = [box for text, box in words.pages[page] if text.startswith(label[:4])]
        assert found, (role, label)
        left, top, right, bottom = found[-1]
        # The label is printed just left of (patient, doctor) or just above (seal) the box;
        # pdftotext measures from the top, the box from the bottom.
        if role == "seal":
            assert x1 - 1 <= left < x2
            assert A4[1] - bottom == pytest.approx(y2, abs=15)
            assert A4[1] - bottom >= y2 - 1
        else:
            assert right <= x1 + 1
            assert y1 <= A4[1] - bottom
            assert A4[1] - top <= y2


def test_box_sizes_are_the_printed_ones(implant: RenderedForm) -> None:
    mm = 72 / 25.4
    sizes = {
        role: (round(x2 - x1, 1), round(y2 - y1, 1))
        for role, (_page, (x1, y1, x2, y2)) in implant.signature_boxes.items()
    }

    assert sizes["patient"] == pytest.approx((60 * mm, 22 * mm), abs=0.2)
    assert sizes["doctor"] == sizes["patient"]
    assert sizes["seal"] == pytest.approx((42 * mm, 42 * mm), abs=0.2)


def test_signers_without_a_signature_field_sign_at_the_end(
    world: World, forms: Forms, tmp_path: Path
) -> None:
    form = make_form(world, forms, forms.questionnaire, data={})
    with tenant_scope(world.org):
        version = form.version
        version.blocks = [b for b in version.blocks if b.get("kind") != "patient_signature"]
        version.signers = ["patient", "doctor"]
        version.save()

    rendered = _render(world, form)

    assert set(rendered.signature_boxes) == {"patient", "doctor"}
    assert rendered.signature_boxes["patient"][0] == rendered.pages - 1
    patient, doctor = rendered.signature_boxes["patient"][1], rendered.signature_boxes["doctor"][1]
    assert doctor[3] <= patient[1]  # the doctor's box below the patient's


def test_a_preview_says_it_is_not_for_signing(world: World, forms: Forms, tmp_path: Path) -> None:
    form = make_form(world, forms)

    text = _tool(tmp_path, _render(world, form, preview=True).pdf, "pdftotext")

    assert "预览稿，未发送签署" in text


def test_rendering_is_quick_once_warm(world: World, forms: Forms) -> None:
    form = make_form(world, forms)
    _render(world, form)  # fonts loaded once per process

    started = time.perf_counter()
    _render(world, form)

    # About 0.2 s on a quiet 2-core machine; the bound leaves room for a busy CI runner.
    assert time.perf_counter() - started < 5
