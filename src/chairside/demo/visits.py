"""The demo's clinical and money side: the price list, top-up promotions, record templates,
and a few finished visits at the first clinic (signed record, accepted plan, executed items,
a bill paid by two methods, one left with arrears, stored-value cards), made through the
same services the pages use so the demo shows what real use leaves behind."""

from __future__ import annotations

from decimal import Decimal

from chairside.billing.demo import demo_bonus_rules_install, demo_catalogue_install
from chairside.billing.models import CatalogueItem
from chairside.billing.services.bills import bill_confirm
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.stored_value import (
    stored_value_account_open,
    stored_value_top_up,
)
from chairside.clinical.models import SECTION_KEYS
from chairside.clinical.services.execution import plan_execute
from chairside.clinical.services.plans import PlanItemInput, plan_accept, plan_create
from chairside.clinical.services.record_templates import record_templates_install_defaults
from chairside.clinical.services.records import record_create, record_sign, record_update_draft
from chairside.core.models import Clinic, Organization, Staff
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient

# Each visit's record, its plan's (catalogue code, teeth) items — the first is done on the
# day — and how the bill is paid ((method, share of the amount due), the last takes the rest).
_VISITS: tuple[dict[str, object], ...] = (
    {
        "complaint": "右下后牙冷热刺激痛两周",
        "present_illness": "两周前起冷热刺激痛，无自发痛、夜间痛，未曾治疗。",
        "history": "否认系统性疾病史，否认药物过敏史。",
        "auxiliary_examination": "根尖片示：46 龋坏近髓，根尖周未见异常。",
        "examination": "46 咬合面深龋，探诊敏感，叩诊(-)，冷测一过性敏感",
        "diagnosis": "46 深龋",
        "treatment": "46 去腐，树脂充填",
        "advice": "避免咬硬物，不适随诊",
        "findings": [{"teeth": [46], "finding": "caries"}, {"teeth": [36], "finding": "filled"}],
        "plan": "46 充填 + 全口洁治",
        "items": [("composite-filling", [46]), ("scaling", [])],
        "payments": (("wechat", "0.6"), ("cash", None)),
    },
    {
        "complaint": "左下后牙缺失半年，要求修复",
        "present_illness": "36 半年前因龋坏残根拔除，现影响咀嚼。",
        "history": "否认高血压、糖尿病、心脏病、骨质疏松及抗凝药物服用史，不吸烟。",
        "auxiliary_examination": "CBCT 示：36 区骨高度 12mm，骨宽度 7mm，骨质 II 类。",
        "examination": "36 缺失，缺牙间隙正常，牙槽嵴丰满",
        "diagnosis": "36 牙列缺损",
        "treatment": "CBCT 检查，制定种植方案",
        "advice": "戒烟，保持口腔卫生，按约复诊",
        "findings": [{"teeth": [36], "finding": "missing"}],
        "plan": "36 种植修复",
        "items": [("cbct", []), ("implant-osstem", [36]), ("implant-crown", [36])],
        "payments": (("alipay", "0.3"),),
    },
)


def seed_clinical_and_billing(organization: Organization) -> int:
    """Price list, promotions and templates for the organization; demo visits where it has a
    doctor and patients. Returns the number of visits made."""
    with tenant_scope(organization):
        owner = Staff.objects.filter(role_grants__role__code="boss").order_by("id").first()
        if owner is None:
            return 0
        demo_catalogue_install(organization=organization, actor=owner)
        demo_bonus_rules_install(organization=organization, actor=owner)
        record_templates_install_defaults(organization=organization)

        clinic = Clinic.objects.filter(kind=Clinic.Kind.CLINIC).order_by("id").first()
        doctor = (
            Staff.objects.filter(role_grants__role__code="doctor", role_grants__clinic=clinic)
            .order_by("id")
            .first()
        )
        desk = (
            Staff.objects.filter(role_grants__role__code="front_desk", role_grants__clinic=clinic)
            .order_by("id")
            .first()
        )
        if clinic is None or doctor is None or desk is None:
            return 0
        catalogue = {item.code: item for item in CatalogueItem.objects.all()}
        patients = list(Patient.objects.order_by("id")[: len(_VISITS)])
        for visit, patient in zip(_VISITS, patients, strict=False):
            _visit(visit, patient, clinic=clinic, doctor=doctor, desk=desk, catalogue=catalogue)
        # A family's shared card, topped up under the 充3000送400 promotion.
        parent = Patient.objects.filter(family__isnull=False).order_by("id").first()
        if parent is not None:
            card = stored_value_account_open(
                actor=desk, clinic=clinic, owner=parent, shared_with_family=True
            )
            stored_value_top_up(
                actor=desk, clinic=clinic, account=card, amount=Decimal("3000"), method="wechat"
            )
        return len(patients)


def _visit(
    visit: dict[str, object],
    patient: Patient,
    *,
    clinic: Clinic,
    doctor: Staff,
    desk: Staff,
    catalogue: dict[str, CatalogueItem],
) -> None:
    items = [
        PlanItemInput(item_id=catalogue[code].pk, teeth=tuple(teeth))
        for code, teeth in visit["items"]  # type: ignore[attr-defined]
    ]
    plan = plan_create(
        actor=doctor, clinic=clinic, patient=patient, title=str(visit["plan"]), items=items
    )
    plan = plan_accept(actor=doctor, clinic=clinic, plan=plan)
    record = record_create(
        actor=doctor, clinic=clinic, patient=patient, visit_type="first_visit", plan=plan
    )
    sections = {key: str(visit[key]) for key in SECTION_KEYS if key in visit}
    record_update_draft(
        actor=doctor,
        clinic=clinic,
        record=record,
        sections=sections,
        findings=list(visit["findings"]),  # type: ignore[call-overload]
    )
    record_sign(actor=doctor, clinic=clinic, record=record)
    first = plan.items.order_by("position").first()
    if first is None:
        return
    executions = plan_execute(actor=desk, clinic=clinic, executions=[(first, 1)])
    bill = bill_confirm(actor=desk, clinic=clinic, bill=executions[0].bill_line.bill)
    due = bill.arrears
    tenders: list[Tender] = []
    for method, share in visit["payments"]:  # type: ignore[attr-defined]
        amount = due - sum((t.amount for t in tenders), Decimal(0))
        if share is not None:
            amount = (due * Decimal(share)).quantize(Decimal("0.01"))
        tenders.append(Tender(method=method, amount=amount, reference="DEMO"))
    bill_pay(actor=desk, clinic=clinic, bill=bill, tenders=tenders)
