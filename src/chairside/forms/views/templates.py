"""Pages of form templates: the list, the builder (Alpine editor of blocks and signers,
checked by the service), installing the default templates, and a template's data page
with statistics per field and the Excel / CSV downloads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError
from chairside.core.pagination import paginate
from chairside.core.web import file_response
from chairside.forms import exports
from chairside.forms.blocks import SIGNER_ROLES, signer_label
from chairside.forms.forms.templates import TemplateForm
from chairside.forms.models import FieldKind, FormTemplate
from chairside.forms.placeholders import PLACEHOLDERS
from chairside.forms.selectors import templates as selectors
from chairside.forms.services import templates as services
from chairside.forms.services.exports import form_data_export

PAGE_SIZE = 20
# Fields of the page form; any other error of the service belongs to the builder.
FORM_FIELDS = ("name", "kind", "title", "code")


@require_GET
@console_page("forms.templates")
def template_list(request: ConsoleRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    kind = request.GET.get("kind", "")
    if kind not in FormTemplate.Kind.values:
        kind = ""
    page = paginate(
        selectors.template_list(query=q, kind=kind),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    context = {
        "page": page,
        "q": q,
        "kind": kind,
        "kinds": FormTemplate.Kind.choices,
        "querystring": urlencode({"q": q, "kind": kind}),
        "can_export": request.access.can("forms.export"),
    }
    return render(request, "forms/template_list.html", context)


def _builder_data(
    blocks: list[Any], signers: list[Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    return {
        "blocks": blocks,
        "signers": signers,
        "errors": errors,
        "placeholders": [{"key": k, "label": str(v)} for k, v in PLACEHOLDERS.items()],
        "kinds": [{"value": v, "label": str(label)} for v, label in FieldKind.choices],
        "roles": [{"value": r, "label": signer_label(r)} for r in SIGNER_ROLES],
    }


def _split_errors(form: TemplateForm, error: DomainError) -> dict[str, list[str]]:
    """The service's errors: the page form's fields at their fields, the blocks' and the
    signers' for the builder; an error without fields above the form."""
    builder: dict[str, list[str]] = {}
    if not error.fields:
        form.add_error(None, str(error.message))
    for name, found in error.fields.items():
        if name in FORM_FIELDS:
            for message in found:
                form.add_error(name, str(message))
        else:
            builder[name] = [str(m) for m in found]
    return builder


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("forms.templates")
def template_edit(request: ConsoleRequest, template_id: int | None = None) -> HttpResponse:
    template = selectors.get_template(template_id=template_id) if template_id else None
    version = selectors.latest_version(template) if template is not None else None
    status = 200
    builder_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = TemplateForm(request.POST)
        blocks, signers = form.blocks(), form.signers()
        if form.is_valid():
            access = request.access
            try:
                if template is None:
                    services.form_template_create(
                        actor=access.staff, clinic=access.clinic, data=form.data_for_service()
                    )
                    messages.success(request, _("The template is saved."))
                else:
                    saved = services.form_template_update(
                        actor=access.staff,
                        clinic=access.clinic,
                        template=template,
                        data=form.data_for_service(),
                    )
                    if version is not None and saved.number != version.number:
                        messages.success(
                            request,
                            _(
                                "The template is saved as version %(number)d; forms already "
                                "made keep the wording they were made with."
                            )
                            % {"number": saved.number},
                        )
                    else:
                        messages.success(request, _("The template is saved."))
            except DomainError as e:
                builder_errors = _split_errors(form, e)
            else:
                return redirect("forms:templates")
        status = 400
    else:
        initial = TemplateForm.initial_of(template, version) if template and version else None
        form = TemplateForm(initial=initial)
        blocks = list(version.blocks) if version is not None else []
        signers = list(version.signers) if version is not None else ["patient"]
    context = {
        "form": form,
        "template": template,
        "version": version,
        "in_use": bool(version is not None and version.instances.exists()),
        "builder_data": _builder_data(blocks, signers, builder_errors),
        "builder_errors": bool(builder_errors),
    }
    return render(request, "forms/template_form.html", context, status=status)


@require_POST
@console_page("forms.templates")
def templates_install(request: ConsoleRequest) -> HttpResponse:
    """Add the default templates the organization lacks (never overwrites edited ones)."""
    created = services.form_templates_install_defaults(organization=request.access.organization)
    messages.success(request, _("%(count)d default templates added.") % {"count": len(created)})
    return redirect("forms:templates")


@require_GET
@console_page("forms.export")
def template_data(request: ConsoleRequest, template_id: int) -> HttpResponse:
    template = selectors.get_template(template_id=template_id)
    stats = exports.template_stats(template)
    chart = {
        f.key: {"labels": [o.option for o in f.options], "counts": [o.count for o in f.options]}
        for f in stats.fields
        if f.options
    }
    context = {"template": template, "stats": stats, "chart": chart}
    return render(request, "forms/template_data.html", context)


@require_GET
@console_page("forms.export")
def template_export(request: ConsoleRequest, template_id: int, fmt: str) -> HttpResponse:
    template = selectors.get_template(template_id=template_id)
    access = request.access
    content = form_data_export(actor=access.staff, clinic=access.clinic, template=template, fmt=fmt)
    content_type = exports.XLSX if fmt == "xlsx" else exports.CSV
    return file_response(
        content, content_type=content_type, filename=exports.export_filename(template, fmt)
    )


urlpatterns = [
    path("templates/", template_list, name="templates"),
    path("templates/new/", template_edit, name="template_new"),
    path("templates/defaults/", templates_install, name="templates_install"),
    path("templates/<int:template_id>/", template_edit, name="template_edit"),
    path("templates/<int:template_id>/data/", template_data, name="template_data"),
    path(
        "templates/<int:template_id>/export.xlsx",
        template_export,
        {"fmt": "xlsx"},
        name="template_export_xlsx",
    ),
    path(
        "templates/<int:template_id>/export.csv",
        template_export,
        {"fmt": "csv"},
        name="template_export_csv",
    ),
]
