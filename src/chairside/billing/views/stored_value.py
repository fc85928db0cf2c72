"""Pages of stored-value cards: a patient's card (balance, open, top up with a live bonus
preview, pay out, family sharing, freeze and close, the ledger) and the top-up bonus rules.

Every form posts back to its page, calls one service and redirects (post/redirect/get); a
refused form shows the page again with the errors.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chairside.billing.forms.catalogue import attach_errors
from chairside.billing.forms.stored_value import BonusRuleForm, PayoutForm, TopUpForm, money_text
from chairside.billing.models import StoredValueAccount
from chairside.billing.selectors import stored_value as selectors
from chairside.billing.services import stored_value as services
from chairside.core.clock import clinic_today
from chairside.core.console import ConsoleRequest, console_page, forbidden, page_number
from chairside.core.errors import DomainError
from chairside.core.money import Money
from chairside.core.pagination import paginate
from chairside.patients.models import Patient
from chairside.patients.selectors import get_patient

ENTRIES_PAGE_SIZE = 20


def _rules_today(request: ConsoleRequest) -> list[dict[str, str]]:
    """The bonus rules in force today, for the top-up form's live preview."""
    today = clinic_today(request.access.clinic)
    return [
        {"name": r.name, "threshold": f"{r.threshold:.2f}", "bonus": f"{r.bonus:.2f}"}
        for r in selectors.bonus_rule_list(active_only=True)
        if (r.starts_on is None or r.starts_on <= today)
        and (r.ends_on is None or r.ends_on >= today)
    ]


def _card_page(
    request: ConsoleRequest,
    patient: Patient,
    card: StoredValueAccount | None,
    *,
    top_up_form: TopUpForm | None = None,
    payout_form: PayoutForm | None = None,
    status: int = 200,
) -> HttpResponse:
    access = request.access
    entries = None
    if card is not None:
        entries = paginate(
            selectors.stored_value_entries(account=card),
            page=page_number(request.GET.get("page")),
            page_size=ENTRIES_PAGE_SIZE,
        )
    family_cards = [
        c
        for c in selectors.stored_value_cards_usable_by(patient=patient)
        if c.owner_id != patient.pk
    ]
    can_manage = access.can("billing.stored_value")
    context: dict[str, Any] = {
        "patient": patient,
        "card": card,
        "entries": entries,
        "family_cards": family_cards,
        "top_up_form": top_up_form
        or TopUpForm(initial={"method": "cash", "idempotency_key": uuid.uuid4().hex}),
        "payout_form": payout_form or PayoutForm(initial={"method": "cash"}),
        "can_manage": can_manage,
        "can_pay_out": can_manage and access.can("billing.refund_approve"),
        "bonus_rules": _rules_today(request),
        "in_family": patient.family_id is not None,
    }
    return render(request, "billing/stored_value_card.html", context, status=status)


def _act(
    request: ConsoleRequest, patient: Patient, card: StoredValueAccount | None
) -> HttpResponse | None:
    """Do what the posted form asks; a response when the page must show errors."""
    access = request.access
    actor, clinic = access.staff, access.clinic
    action = request.POST.get("action", "")
    if action == "open":
        services.stored_value_account_open(
            actor=actor,
            clinic=clinic,
            owner=patient,
            shared_with_family=request.POST.get("shared_with_family") == "on",
        )
        messages.success(request, _("The card is open."))
        return None
    if card is None:
        return None
    if action == "top_up":
        form = TopUpForm(request.POST)
        if not form.is_valid():
            return _card_page(request, patient, card, top_up_form=form, status=400)
        data = form.cleaned_data
        try:
            entry = services.stored_value_top_up(
                actor=actor,
                clinic=clinic,
                account=card,
                amount=money_text(data["amount"]),
                method=data["method"],
                reference=data["reference"],
                tendered=money_text(data["tendered"]) or None,
                idempotency_key=data["idempotency_key"] or None,
            )
        except DomainError as e:
            attach_errors(form, e)
            return _card_page(request, patient, card, top_up_form=form, status=e.status)
        text = _("Topped up %(amount)s, bonus %(bonus)s.") % {
            "amount": Money(entry.principal_delta),
            "bonus": Money(entry.bonus_delta),
        }
        payment = entry.payment
        if payment is not None and payment.tendered is not None:
            text += " " + _("Change due: %(change)s.") % {
                "change": Money(payment.tendered - payment.amount)
            }
        messages.success(request, text)
    elif action == "pay_out":
        if not access.can("billing.refund_approve"):
            return forbidden(request, "billing.refund_approve")
        payout = PayoutForm(request.POST)
        if not payout.is_valid():
            return _card_page(request, patient, card, payout_form=payout, status=400)
        data = payout.cleaned_data
        try:
            entry = services.stored_value_refund(
                actor=actor,
                clinic=clinic,
                account=card,
                amount=money_text(data["amount"]),
                method=data["method"],
                reason=data["reason"],
            )
        except DomainError as e:
            attach_errors(payout, e)
            return _card_page(request, patient, card, payout_form=payout, status=e.status)
        messages.success(
            request,
            _("Paid out %(amount)s; bonus forfeited %(bonus)s.")
            % {"amount": Money(-entry.principal_delta), "bonus": Money(-entry.bonus_delta)},
        )
    elif action in ("share", "unshare"):
        services.stored_value_set_sharing(
            actor=actor, clinic=clinic, account=card, shared_with_family=action == "share"
        )
        messages.success(
            request,
            _("Family members can now pay with the card.")
            if action == "share"
            else _("Only the owner can pay with the card now."),
        )
    elif action in ("active", "frozen", "closed"):
        services.stored_value_set_status(actor=actor, clinic=clinic, account=card, status=action)
        done = {
            "active": _("The card can be used again."),
            "frozen": _("The card is frozen: no top-ups or payments until it is unfrozen."),
            "closed": _("The card is closed."),
        }
        messages.success(request, done[action])
    return None


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("billing.view")
def patient_card(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = get_patient(patient_id=patient_id)
    card = selectors.stored_value_card_of(patient=patient)
    if request.method != "POST":
        return _card_page(request, patient, card)
    if not request.access.can("billing.stored_value"):
        return forbidden(request, "billing.stored_value")
    try:
        response = _act(request, patient, card)
    except DomainError as e:
        messages.error(request, str(e.message))
        response = None
    if response is not None:
        return response
    return redirect(reverse("billing:patient_card", kwargs={"patient_id": patient.pk}))


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("billing.view")
def bonus_rules(request: ConsoleRequest) -> HttpResponse:
    can_manage = request.access.can("billing.catalogue")
    form = BonusRuleForm()
    status = 200
    if request.method == "POST":
        if not can_manage:
            return forbidden(request, "billing.catalogue")
        actor, clinic = request.access.staff, request.access.clinic
        action = request.POST.get("action", "create")
        if action == "create":
            form = BonusRuleForm(request.POST)
            if form.is_valid():
                try:
                    rule = services.top_up_bonus_rule_create(
                        actor=actor, clinic=clinic, **form.service_values()
                    )
                except DomainError as e:
                    attach_errors(form, e)
                else:
                    messages.success(request, _("%(name)s is added.") % {"name": rule.name})
                    return redirect("billing:bonus_rules")
            status = 400
        elif action in ("activate", "deactivate"):
            try:
                rule_id = int(request.POST.get("rule", ""))
            except ValueError:
                return redirect("billing:bonus_rules")
            rule = selectors.get_bonus_rule(rule_id=rule_id)
            services.top_up_bonus_rule_update(
                actor=actor, clinic=clinic, rule=rule, is_active=action == "activate"
            )
            messages.success(
                request,
                (
                    _("%(name)s is in force again.")
                    if action == "activate"
                    else _("%(name)s is ended.")
                )
                % {"name": rule.name},
            )
            return redirect("billing:bonus_rules")
    today = clinic_today(request.access.clinic)
    rules = [
        {
            "rule": r,
            "in_force": r.is_active
            and (r.starts_on is None or r.starts_on <= today)
            and (r.ends_on is None or r.ends_on >= today),
        }
        for r in selectors.bonus_rule_list()
    ]
    context = {"rules": rules, "form": form, "can_manage": can_manage}
    return render(request, "billing/bonus_rules.html", context, status=status)


urlpatterns = [
    path("patients/<int:patient_id>/card/", patient_card, name="patient_card"),
    path("bonus-rules/", bonus_rules, name="bonus_rules"),
]
