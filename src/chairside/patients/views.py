"""Console pages of the patient centre: search, profile, tags, family, referrals, segments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError, NotFound
from chairside.core.panels import panels_for
from chairside.core.resident_id import mask_resident_id
from chairside.patients import selectors, services
from chairside.patients.ages import age_on
from chairside.patients.forms import (
    FamilyLinkForm,
    PatientForm,
    SegmentForm,
    TagCreateForm,
    TagPickForm,
    attach_errors,
)
from chairside.patients.models import Gender, Patient, Segment, SourceChannel, Tag

PAGE_SIZE = 20
PICKER_LIMIT = 8


# --- helpers ---------------------------------------------------------------------------


def _is_partial(request: HttpRequest) -> bool:
    """An htmx swap asks for the fragment; a history restore needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not getattr(htmx, "history_restore_request", False)


def _render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    vary_htmx: bool = False,
) -> HttpResponse:
    response = render(request, template, context, status=status)
    if vary_htmx:
        # The same URL answers a fragment or a page: caches must keep them apart.
        patch_vary_headers(response, ["HX-Request"])
    return response


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class PatientRow:
    """A patient as one line of a list: what the template shows, computed once."""

    patient: Patient
    age: int | None
    tags: list[Tag] = field(default_factory=list)


def _rows(patients: list[Patient]) -> list[PatientRow]:
    today = timezone.localdate()
    return [
        PatientRow(
            patient=p,
            age=age_on(p.birth_date, today),
            # tag_links are prefetched with their tags by selectors.patient_list.
            tags=[link.tag for link in p.tag_links.all()],
        )
        for p in patients
    ]


def _detail_url(patient: Patient | int, anchor: str = "") -> str:
    pk = patient if isinstance(patient, int) else patient.pk
    url = reverse("patients:detail", args=[pk])
    return f"{url}#{anchor}" if anchor else url


# --- list and search -------------------------------------------------------------------


@require_safe
@console_page("patients.view")
def patient_list(request: ConsoleRequest) -> HttpResponse:
    """Search by name, phone, record number or pinyin; filter by tag, segment and archive."""
    query = request.GET.get("q", "").strip()[:50]
    tag_id = _int(request.GET.get("tag"))
    segment_id = _int(request.GET.get("segment"))
    archived = request.GET.get("archived") == "1"
    segment = selectors.get_segment(segment_id=segment_id) if segment_id else None
    page = selectors.paginate(
        selectors.patient_list(
            query=query, tag_id=tag_id, segment=segment, include_archived=archived
        ),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    filters = {
        "q": query,
        "tag": tag_id or "",
        "segment": segment_id or "",
        "archived": "1" if archived else "",
    }
    context: dict[str, Any] = {
        "page": page,
        "rows": _rows(page.items),
        "query": query,
        "filters": filters,
        "filtered": bool(query or tag_id or segment_id),
        "querystring": urlencode({k: v for k, v in filters.items() if v}),
        "results_url": reverse("patients:list"),
    }
    if _is_partial(request):
        response = _render(request, "patients/_results.html", context, vary_htmx=True)
        # The address bar gets the search without the empty filters the form also sent.
        url = context["results_url"]
        response["HX-Push-Url"] = (
            f"{url}?{context['querystring']}" if context["querystring"] else url
        )
        return response
    context["tags"] = list(selectors.tag_list())
    context["segments"] = (
        list(selectors.segment_list()) if request.access.can("segments.manage") else []
    )
    context["segment"] = segment
    return _render(request, "patients/list.html", context, vary_htmx=True)


@require_safe
@console_page("patients.view")
def patient_pick(request: ConsoleRequest) -> HttpResponse:
    """Suggestions for the patient pickers (referrer, family member) while typing."""
    query = request.GET.get("q", "").strip()[:50]
    exclude = _int(request.GET.get("exclude"))
    patients: list[Patient] = []
    if query:
        found = selectors.patient_list(query=query)
        if exclude:
            found = found.exclude(pk=exclude)
        patients = list(found[:PICKER_LIMIT])
    return render(request, "patients/_pick_results.html", {"patients": patients, "query": query})


# --- profile ---------------------------------------------------------------------------


def _timeline(patient: Patient) -> list[selectors.TimelineEvent]:
    """The patient's timeline with changed fields named as the profile names them."""
    labels = {
        f.name: capfirst(str(f.verbose_name))
        for f in Patient._meta.concrete_fields
        if f.name in services.EDITABLE_FIELDS or f.attname in services.EDITABLE_FIELDS
    }
    events = []
    for event in selectors.patient_timeline(patient=patient, limit=100):
        names = [n.strip() for n in event.detail.split(",") if n.strip()]
        # Keys such as "tag_added" are already told by the title; show profile fields only.
        shown = [labels[n] for n in names if n in labels]
        events.append(replace(event, detail=", ".join(shown)))
    return events


def _detail_context(
    request: ConsoleRequest,
    patient: Patient,
    *,
    tag_form: TagPickForm | None = None,
    family_form: FamilyLinkForm | None = None,
) -> dict[str, Any]:
    access = request.access
    patient_tags = selectors.patient_tags(patient=patient)
    attached = {t.pk for t in patient_tags}
    can_tag = access.can("patients.tag")
    return {
        "patient": patient,
        "age": age_on(patient.birth_date, timezone.localdate()),
        "id_number": (
            patient.id_number
            if access.can("patients.view_id_number")
            else mask_resident_id(patient.id_number)
        ),
        "patient_tags": patient_tags,
        "available_tags": (
            [t for t in selectors.tag_list() if t.pk not in attached] if can_tag else []
        ),
        "tag_form": tag_form or TagPickForm(),
        "family_members": selectors.family_members(patient=patient),
        "family_form": family_form or FamilyLinkForm(),
        "referred": list(selectors.referral_detail(referrer=patient)),
        "timeline": _timeline(patient),
        # Other apps' panels: money (arrears, stored value), clinical work.
        "panels": panels_for("CHAIRSIDE_PATIENT_PANELS", request, patient),
        "can": {
            "update": access.can("patients.update"),
            "archive": access.can("patients.archive"),
            "tag": can_tag,
            "family": access.can("patients.family"),
            "manage_tags": access.can("tags.manage"),
        },
    }


@require_safe
@console_page("patients.view")
def patient_detail(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = selectors.get_patient(patient_id=patient_id)
    return render(request, "patients/detail.html", _detail_context(request, patient))


def _referrer_of(form: PatientForm) -> Patient | None:
    """The referrer picked in a (bound or initial) form, to show its name again."""
    raw = form["referrer_id"].value()
    referrer_id = _int(str(raw)) if raw not in (None, "") else None
    if referrer_id is None:
        return None
    try:
        return selectors.get_patient(patient_id=referrer_id)
    except NotFound:
        return None


def _form_page(
    request: ConsoleRequest, form: PatientForm, *, patient: Patient | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "patients/form.html",
        {"form": form, "patient": patient, "referrer": _referrer_of(form)},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@console_page("patients.create")
def patient_create(request: ConsoleRequest) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, PatientForm(), patient=None)
    form = PatientForm(request.POST)
    if form.is_valid():
        try:
            patient = services.patient_create(
                actor=request.access.staff, clinic=request.access.clinic, **form.service_values()
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(
                request,
                _("%(name)s is registered as %(record_no)s.")
                % {"name": patient.name, "record_no": patient.record_no},
            )
            return redirect(_detail_url(patient))
    return _form_page(request, form, patient=None, status=400)


@require_http_methods(["GET", "POST"])
@console_page("patients.update")
def patient_edit(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = selectors.get_patient(patient_id=patient_id)
    show_id = request.access.can("patients.view_id_number")
    if request.method != "POST":
        form = PatientForm(patient=patient, show_id_number=show_id)
        return _form_page(request, form, patient=patient)
    form = PatientForm(request.POST, patient=patient, show_id_number=show_id)
    if form.is_valid():
        try:
            services.patient_update(
                actor=request.access.staff,
                clinic=request.access.clinic,
                patient=patient,
                **form.service_values(),
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(request, _("The profile is saved."))
            return redirect(_detail_url(patient))
    return _form_page(request, form, patient=patient, status=400)


@require_POST
@console_page("patients.archive")
def patient_archive(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = selectors.get_patient(patient_id=patient_id)
    services.patient_archive(
        actor=request.access.staff, clinic=request.access.clinic, patient=patient
    )
    messages.success(
        request, _("%(name)s is archived and no longer listed.") % {"name": patient.name}
    )
    return redirect(_detail_url(patient))


# --- tags on a patient -----------------------------------------------------------------


@require_POST
@console_page("patients.tag")
def patient_tag_add(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = selectors.get_patient(patient_id=patient_id)
    form = TagPickForm(request.POST)
    if form.is_valid():
        try:
            tag = selectors.get_tag(tag_id=form.cleaned_data["tag_id"])
            services.patient_tag_add(
                actor=request.access.staff, clinic=request.access.clinic, patient=patient, tag=tag
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            return redirect(_detail_url(patient, "tags"))
    context = _detail_context(request, patient, tag_form=form)
    return render(request, "patients/detail.html", context, status=400)


@require_POST
@console_page("patients.tag")
def patient_tag_remove(request: ConsoleRequest, patient_id: int, tag_id: int) -> HttpResponse:
    patient = selectors.get_patient(patient_id=patient_id)
    tag = selectors.get_tag(tag_id=tag_id)
    services.patient_tag_remove(
        actor=request.access.staff, clinic=request.access.clinic, patient=patient, tag=tag
    )
    return redirect(_detail_url(patient, "tags"))


# --- family ----------------------------------------------------------------------------


@require_POST
@console_page("patients.family")
def family_link(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = selectors.get_patient(patient_id=patient_id)
    form = FamilyLinkForm(request.POST)
    if form.is_valid():
        try:
            relative = selectors.get_patient(
                patient_id=form.cleaned_data["relative_id"], include_archived=False
            )
            services.family_link(
                actor=request.access.staff,
                clinic=request.access.clinic,
                patient=patient,
                relative=relative,
                relation=form.cleaned_data["relation"],
            )
        except DomainError as e:
            # A patient of another organization is "not found", shown at the picker.
            if not e.fields:
                e.fields = {"relative_id": [e.message]}
            attach_errors(form, e)
        else:
            messages.success(
                request, _("%(name)s is linked to the family.") % {"name": relative.name}
            )
            return redirect(_detail_url(patient, "family"))
    context = _detail_context(request, patient, family_form=form)
    return render(request, "patients/detail.html", context, status=400)


@require_POST
@console_page("patients.family")
def family_remove(request: ConsoleRequest, patient_id: int, member_id: int) -> HttpResponse:
    """Take `member` out of `patient`'s family (the patient may be the member)."""
    patient = selectors.get_patient(patient_id=patient_id)
    member = selectors.get_patient(patient_id=member_id)
    if patient.family_id is None or member.family_id != patient.family_id:
        raise NotFound(_("Patient not found."))
    services.family_unlink(actor=request.access.staff, clinic=request.access.clinic, patient=member)
    messages.success(request, _("%(name)s is removed from the family.") % {"name": member.name})
    return redirect(_detail_url(patient, "family"))


# --- tags ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@console_page("patients.view")
def tag_index(request: ConsoleRequest) -> HttpResponse:
    """All tags with how many patients carry each; staff with tags.manage create them here."""
    can_manage = request.access.can("tags.manage")
    form = TagCreateForm()
    status = 200
    if request.method == "POST":
        if not can_manage:
            return render(
                request, "console/forbidden.html", {"permission": "tags.manage"}, status=403
            )
        form = TagCreateForm(request.POST)
        if form.is_valid():
            try:
                tag = services.tag_create(actor=request.access.staff, **form.cleaned_data)
            except DomainError as e:
                attach_errors(form, e)
            else:
                messages.success(request, _("Tag %(name)s is created.") % {"name": tag.name})
                return redirect("patients:tags")
        status = 400
    return render(
        request,
        "patients/tags.html",
        {"tags": list(selectors.tag_list()), "form": form, "can_manage": can_manage},
        status=status,
    )


# --- referrals -------------------------------------------------------------------------


@require_safe
@console_page("patients.referrals")
def referral_index(request: ConsoleRequest) -> HttpResponse:
    """Who brought the most patients, across every clinic of the chain, and whom they brought."""
    referrer_id = _int(request.GET.get("referrer"))
    referrer = selectors.get_patient(patient_id=referrer_id) if referrer_id else None
    detail = {
        "referrer": referrer,
        "referred": list(selectors.referral_detail(referrer=referrer)) if referrer else [],
    }
    if _is_partial(request):
        return _render(request, "patients/_referral_detail.html", detail, vary_htmx=True)
    page = selectors.paginate(
        selectors.referral_leaderboard(),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    context = {
        **detail,
        "page": page,
        "rank_offset": (page.page - 1) * page.page_size,
        "querystring": urlencode({"referrer": referrer_id} if referrer_id else {}),
    }
    return _render(request, "patients/referrals.html", context, vary_htmx=True)


# --- segments --------------------------------------------------------------------------


def describe_rules(
    rules: dict[str, Any], *, tags: dict[int, Tag], clinics: dict[int, str]
) -> list[str]:
    """The conditions of a segment in words, for lists and headers."""
    parts: list[str] = []
    age_min, age_max = rules.get("age_min"), rules.get("age_max")
    if age_min is not None and age_max is not None:
        parts.append(_("Age %(low)s–%(high)s") % {"low": age_min, "high": age_max})
    elif age_min is not None:
        parts.append(_("Age %(low)s or older") % {"low": age_min})
    elif age_max is not None:
        parts.append(_("Age %(high)s or younger") % {"high": age_max})
    if rules.get("gender"):
        parts.append(str(Gender(rules["gender"]).label))
    if rules.get("sources"):
        labels = ", ".join(str(SourceChannel(s).label) for s in rules["sources"])
        parts.append(_("Source: %(sources)s") % {"sources": labels})
    if rules.get("no_visit_months"):
        parts.append(_("No visit for %(n)s months") % {"n": rules["no_visit_months"]})
    if rules.get("visited_within_months"):
        parts.append(_("Visited within %(n)s months") % {"n": rules["visited_within_months"]})
    if rules.get("registered_within_days"):
        parts.append(_("Registered within %(n)s days") % {"n": rules["registered_within_days"]})
    if rules.get("tags_any"):
        names = ", ".join(tags[t].name if t in tags else "?" for t in rules["tags_any"])
        parts.append(_("Tags: %(tags)s") % {"tags": names})
    if rules.get("clinic_ids"):
        names = ", ".join(clinics.get(c, "?") for c in rules["clinic_ids"])
        parts.append(_("Clinic: %(clinics)s") % {"clinics": names})
    return parts or [_("All patients")]


def _rule_lookups() -> tuple[dict[int, Tag], dict[int, str]]:
    tags = {t.pk: t for t in selectors.tag_list()}
    clinics = {c.pk: c.name for c in selectors.clinic_choices()}
    return tags, clinics


@require_safe
@console_page("segments.manage")
def segment_index(request: ConsoleRequest) -> HttpResponse:
    tags, clinics = _rule_lookups()
    segments = [
        (s, describe_rules(s.rules, tags=tags, clinics=clinics)) for s in selectors.segment_list()
    ]
    return render(request, "patients/segments.html", {"segments": segments})


@require_safe
@console_page("segments.manage")
def segment_detail(request: ConsoleRequest, segment_id: int) -> HttpResponse:
    segment = selectors.get_segment(segment_id=segment_id)
    page = selectors.paginate(
        selectors.patient_list(segment=segment),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    tags, clinics = _rule_lookups()
    context = {
        "segment": segment,
        "conditions": describe_rules(segment.rules, tags=tags, clinics=clinics),
        "page": page,
        "rows": _rows(page.items),
        "querystring": "",
        "filtered": True,
    }
    return render(request, "patients/segment_detail.html", context)


def _segment_form_page(
    request: ConsoleRequest, segment: Segment | None, *, status: int = 200
) -> HttpResponse:
    tags = list(selectors.tag_list())
    clinics = selectors.clinic_choices()
    if request.method == "POST":
        form = SegmentForm(request.POST, tags=tags, clinics=clinics)
        if form.is_valid():
            try:
                saved = services.segment_save(
                    actor=request.access.staff,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    rules=form.rules(),
                    segment=segment,
                )
            except DomainError as e:
                attach_errors(form, e)
            else:
                messages.success(request, _("Segment %(name)s is saved.") % {"name": saved.name})
                return redirect("patients:segment_detail", segment_id=saved.pk)
        status = 400
    else:
        initial = {"name": segment.name, "description": segment.description} if segment else {}
        form = SegmentForm(
            tags=tags, clinics=clinics, rules=segment.rules if segment else None, initial=initial
        )
    return render(
        request, "patients/segment_form.html", {"form": form, "segment": segment}, status=status
    )


@require_http_methods(["GET", "POST"])
@console_page("segments.manage")
def segment_create(request: ConsoleRequest) -> HttpResponse:
    return _segment_form_page(request, None)


@require_http_methods(["GET", "POST"])
@console_page("segments.manage")
def segment_edit(request: ConsoleRequest, segment_id: int) -> HttpResponse:
    return _segment_form_page(request, selectors.get_segment(segment_id=segment_id))
