"""Forms of the points set-up pages (rules, gifts, the referral reward), activity points on
a member's page, and the booking windows held back for members. They only tidy what was
typed; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import Category
from chairside.core.models import Clinic
from chairside.membership.models import MembershipSettings, MemberWindow, PointsGift, PointsRule

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class PointsRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    category = forms.ChoiceField(
        label=_("Category"),
        choices=[("", _("Every other category")), *Category.choices],
        required=False,
        help_text=_("A category's own rule wins over the rule for every category."),
    )
    points_per_yuan = forms.DecimalField(
        label=_("Points per yuan paid"),
        min_value=0,
        max_value=1000,
        max_digits=7,
        decimal_places=4,
        help_text=_("0.1 is one point for every ¥10."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, rule: PointsRule | None = None, **kwargs: Any) -> None:
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": rule.name,
                "category": rule.category,
                "points_per_yuan": rule.points_per_yuan.normalize(),
                "is_active": rule.is_active,
            }
        super().__init__(*args, **kwargs)


class GiftForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    points_cost = forms.IntegerField(label=_("Points"), min_value=1, max_value=10_000_000)
    stock = forms.IntegerField(
        label=_("Stock"),
        min_value=0,
        max_value=10_000_000,
        required=False,
        help_text=_("Leave empty for no limit."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, gift: PointsGift | None = None, **kwargs: Any) -> None:
        if gift is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": gift.name,
                "points_cost": gift.points_cost,
                "stock": gift.stock,
                "is_active": gift.is_active,
            }
        super().__init__(*args, **kwargs)


class ReferralForm(forms.Form):
    referral_points = forms.IntegerField(
        label=_("Points per referral"),
        min_value=0,
        max_value=100_000,
        help_text=_(
            "Earned by a member once a patient they referred has paid a first bill in full; "
            "0 gives none. A refund of that bill does not take them back."
        ),
    )

    def __init__(
        self, *args: Any, settings: MembershipSettings | None = None, **kwargs: Any
    ) -> None:
        if settings is not None and "initial" not in kwargs:
            kwargs["initial"] = {"referral_points": settings.referral_points}
        super().__init__(*args, **kwargs)


class ActivityForm(forms.Form):
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=1_000_000)
    reason = forms.CharField(
        label=_("Activity"),
        max_length=200,
        help_text=_("What the member took part in, e.g. a check-in or a shared article."),
    )


class WindowForm(forms.Form):
    clinic = forms.ModelChoiceField(label=_("Clinic"), queryset=Clinic.all_tenants.none())
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=WEEKDAYS, coerce=int)
    start = forms.TimeField(
        label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    min_rank = forms.TypedChoiceField(label=_("For tiers from"), coerce=int)

    def __init__(
        self,
        *args: Any,
        tiers: list[tuple[int, str]],
        window: MemberWindow | None = None,
        **kwargs: Any,
    ) -> None:
        if window is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "clinic": window.clinic_id,
                "weekday": window.weekday,
                "start": window.start,
                "end": window.end,
                "min_rank": window.min_rank,
            }
        super().__init__(*args, **kwargs)
        clinic: Any = self.fields["clinic"]
        clinic.queryset = Clinic.objects.filter(kind=Clinic.Kind.CLINIC, is_active=True).order_by(
            "id"
        )
        rank: Any = self.fields["min_rank"]
        choices = [(r, _("%(tier)s and above") % {"tier": name}) for r, name in tiers]
        if window is not None and window.min_rank not in dict(tiers):
            choices.append((window.min_rank, _("Rank %(rank)d") % {"rank": window.min_rank}))
        rank.choices = choices
