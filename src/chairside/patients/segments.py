"""Rules of a segment (P3) and their translation into a patient query."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.db.models import Q
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chairside.patients.models import Gender, SourceChannel


class SegmentRules(BaseModel):
    """All given conditions must hold. Empty rules match every patient."""

    model_config = ConfigDict(extra="forbid")

    age_min: int | None = Field(default=None, ge=0, le=130)
    age_max: int | None = Field(default=None, ge=0, le=130)
    gender: Gender | None = None
    sources: list[SourceChannel] = Field(default_factory=list)
    # Patients with no completed visit in this many months (or never).
    no_visit_months: int | None = Field(default=None, ge=1, le=120)
    visited_within_months: int | None = Field(default=None, ge=1, le=120)
    tags_any: list[int] = Field(default_factory=list)
    clinic_ids: list[int] = Field(default_factory=list)
    registered_within_days: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="after")
    def _ages_in_order(self) -> SegmentRules:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("age_min must not exceed age_max")
        return self

    def to_q(self, today: date | None = None) -> Q:
        today = today or timezone.localdate()
        q = Q(is_archived=False)
        if self.age_min is not None:
            # Aged at least N: born on or before today N years ago.
            q &= Q(birth_date__lte=today - relativedelta(years=self.age_min))
        if self.age_max is not None:
            # Aged at most N: born after today N+1 years ago.
            q &= Q(birth_date__gt=today - relativedelta(years=self.age_max + 1))
        if self.gender:
            q &= Q(gender=self.gender)
        if self.sources:
            q &= Q(source__in=self.sources)
        now = timezone.now()
        if self.no_visit_months:
            cutoff = now - relativedelta(months=self.no_visit_months)
            q &= Q(last_visit_at__isnull=True) | Q(last_visit_at__lt=cutoff)
        if self.visited_within_months:
            q &= Q(last_visit_at__gte=now - relativedelta(months=self.visited_within_months))
        if self.tags_any:
            q &= Q(tag_links__tag_id__in=self.tags_any)
        if self.clinic_ids:
            q &= Q(first_clinic_id__in=self.clinic_ids)
        if self.registered_within_days:
            q &= Q(created_at__gte=now - timedelta(days=self.registered_within_days))
        return q
