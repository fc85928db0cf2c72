"""Medical record templates: the starter text of each section, per visit type.

`record_templates_install_defaults` gives a new organization one template per visit type,
written as Chinese clinics write their records (the text is data a clinic edits, not UI).
Callers check clinical.templates before the other writes.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.clinical.models import RecordTemplate, VisitType
from chairside.clinical.rendering import clean_sections
from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.tenancy import current_tenant_or_none, tenant_scope

MAX_NAME = 50

# One template per visit type, keyed by visit type: (name, {section: starter text}).
DEFAULT_TEMPLATES: dict[str, tuple[str, dict[str, str]]] = {
    VisitType.FIRST_VISIT: (
        "初诊病历",
        {
            "complaint": "…牙（疼痛/不适）…天",
            "present_illness": "患者自述…起病，疼痛性质为…，"
            "冷热刺激（加重/不加重），夜间痛（有/无）。"
            "曾于外院就诊（有/无）。",
            "history": "既往史：（否认/有）高血压、糖尿病、心脏病等系统性疾病史。\n"
            "过敏史：（否认/有）药物过敏史。\n"
            "家族史：（无特殊/…）。",
            "examination": "口腔卫生状况（良好/一般/差）。\n"
            "牙：龋坏（有/无），叩痛（-），松动（-），"
            "冷测（正常/敏感/迟钝）。\n牙周：牙龈（正常/红肿），探诊出血（-），牙石（+）。\n"
            "黏膜：未见异常。颞下颌关节：开口度正常，无弹响。",
            "auxiliary_examination": "根尖片/全景片示：…",
            "diagnosis": "",
            "treatment": "1. 告知病情及治疗方案、费用，患者知情同意。\n2. …",
            "advice": "1. 保持口腔卫生，早晚刷牙，使用牙线。\n2. 不适随诊，按约复诊。",
        },
    ),
    VisitType.FOLLOW_UP: (
        "复诊病历",
        {
            "complaint": "复诊，上次治疗后（无不适/仍有不适）",
            "present_illness": "上次就诊后自觉症状（缓解/无变化/加重）。",
            "history": "同前。",
            "examination": "暂封物（完好/脱落），叩痛（-），松动（-），牙龈（正常/红肿）。",
            "auxiliary_examination": "",
            "diagnosis": "",
            "treatment": "1. 去除暂封，…\n2. …",
            "advice": "1. 患牙暂勿咬硬物。\n2. 按约复诊，不适随诊。",
        },
    ),
    VisitType.ORTHODONTIC: (
        "正畸病历",
        {
            "complaint": "牙列不齐/前牙突出，要求矫治",
            "present_illness": "自幼发现牙列不齐，（未/曾）接受正畸治疗。"
            "口腔不良习惯：（无/吐舌/咬唇/口呼吸）。",
            "history": "（否认/有）系统性疾病史及药物过敏史。生长发育：…",
            "examination": "面型：（直面型/凸面型/凹面型）。\n"
            "磨牙关系：左（I/II/III类），右（I/II/III类）。\n"
            "尖牙关系：…，覆合…mm，覆盖…mm。\n拥挤度：上颌…mm，下颌…mm。中线：…",
            "auxiliary_examination": "全景片、头颅侧位片、口内外照片及模型（或口扫）已采集。",
            "diagnosis": "",
            "treatment": "1. 告知矫治方案（固定矫治/隐形矫治）、疗程、费用及风险，"
            "患者及监护人知情同意。\n"
            "2. …",
            "advice": "1. 认真刷牙，使用正畸牙刷及牙缝刷。\n2. 避免啃咬硬物及黏性食物。\n"
            "3. 托槽脱落或弓丝扎嘴及时就诊。按约每4-6周复诊。",
        },
    ),
    VisitType.IMPLANT: (
        "种植病历",
        {
            "complaint": "牙缺失…月/年，要求种植修复",
            "present_illness": "患牙于…因（龋坏/外伤/牙周病）拔除，现影响咀嚼。",
            "history": "（否认/有）高血压、糖尿病、心脏病、骨质疏松及抗凝药物服用史。"
            "吸烟（有/无）。"
            "否认药物过敏史。",
            "examination": "缺牙区牙槽嵴（丰满/吸收），近远中距…mm，颌龈距…mm，角化龈宽度…mm。\n"
            "邻牙（正常/倾斜），对颌牙（正常/伸长）。",
            "auxiliary_examination": "CBCT示：缺牙区骨高度…mm，骨宽度…mm，骨质（I/II/III/IV类），"
            "距下颌神经管/上颌窦底…mm。",
            "diagnosis": "",
            "treatment": "1. 术前告知手术风险、费用及治疗周期，签署知情同意书。\n"
            "2. 常规消毒铺巾，局麻下切开翻瓣，逐级备洞，植入种植体（品牌…，规格…），"
            "初期稳定性…Ncm，（安放愈合基台/覆盖螺丝），严密缝合。",
            "advice": "1. 咬棉球30分钟，24小时内勿漱口刷牙，术区冰敷。\n"
            "2. 遵医嘱服用抗生素，进软食，禁烟酒。\n3. 7-10天拆线，3-6个月后复诊行上部修复。",
        },
    ),
    VisitType.EXTRACTION: (
        "拔牙病历",
        {
            "complaint": "牙松动/疼痛…天，要求拔除",
            "present_illness": "患牙（松动/反复肿痛/龋坏残根）…，（曾/未）治疗。",
            "history": "（否认/有）高血压、心脏病、糖尿病、血液病史，"
            "（否认/有）抗凝药物服用史，（否认/有）药物过敏史。"
            "（女性）非月经期、非妊娠期。",
            "examination": "牙（残根/残冠/松动III度/阻生），叩痛（+/-），牙龈（红肿/正常）。",
            "auxiliary_examination": "根尖片/全景片示：…",
            "diagnosis": "",
            "treatment": "1. 术前告知拔牙风险（出血、感染、干槽症、邻牙损伤、神经损伤等），"
            "患者知情同意并签字。\n2. 常规消毒，必兰/利多卡因局麻下拔除患牙，"
            "搔刮牙槽窝，压迫止血，（缝合…针）。",
            "advice": "1. 咬棉球30分钟，24小时内勿漱口刷牙，勿用舌舔伤口。\n"
            "2. 2小时后可进温凉软食，避免患侧咀嚼，禁烟酒。\n"
            "3. 唾液中少量血丝属正常，如出血不止、持续剧痛或发热请及时就诊。\n4. 缝线者7天后拆线。",
        },
    ),
    VisitType.CLEANING: (
        "洁牙病历",
        {
            "complaint": "刷牙出血/牙石多，要求洁牙",
            "present_illness": "刷牙时牙龈出血…月，（有/无）口臭。上次洁牙：…",
            "history": "（否认/有）系统性疾病史及药物过敏史，（否认/有）心脏起搏器植入史。",
            "examination": "牙石（+/++/+++），色素（+），牙龈（红肿/退缩），探诊出血（+），"
            "牙周袋深度…mm，牙松动（-）。",
            "auxiliary_examination": "",
            "diagnosis": "",
            "treatment": "1. 告知洁治过程及可能出现的敏感、出血，患者知情同意。\n"
            "2. 超声龈上洁治，喷砂抛光，3%双氧水冲洗，局部上药。",
            "advice": "1. 洁牙后短期内牙齿可能敏感，避免过冷过热饮食。\n"
            "2. 正确刷牙（巴氏刷牙法），使用牙线。\n3. 建议每6-12个月定期洁牙及口腔检查。",
        },
    ),
}


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Enter a name."), field="name")
    if len(name) > MAX_NAME:
        raise ValidationFailed(
            gettext("This is too long (at most %(limit)d characters).") % {"limit": MAX_NAME},
            field="name",
        )
    return name


def _clean_visit_type(visit_type: str) -> str:
    if visit_type not in VisitType.values:
        raise ValidationFailed(_("Choose a visit type from the list."), field="visit_type")
    return visit_type


def _require_unique(template: RecordTemplate) -> None:
    clash = RecordTemplate.objects.filter(visit_type=template.visit_type, name=template.name)
    if template.pk:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise ValidationFailed(
            _("A template of this visit type already has this name."), field="name"
        )


def _stored_sections(sections: dict[str, Any]) -> dict[str, str]:
    # Only sections with text are stored; the rest start blank.
    return {k: v for k, v in clean_sections(sections).items() if v}


def record_templates_install_defaults(*, organization: Organization) -> list[RecordTemplate]:
    """Add the default template of each visit type the organization lacks; returns the new ones.

    Idempotent: a template that exists (by visit type and name) is left as the clinic
    edited it. Runs inside the organization's tenant scope, whatever the caller's.
    """
    tenant = current_tenant_or_none()
    if tenant is not None and tenant.organization_id == organization.pk:
        return _install_defaults(organization)
    with tenant_scope(organization):
        return _install_defaults(organization)


@transaction.atomic
def _install_defaults(organization: Organization) -> list[RecordTemplate]:
    existing = set(RecordTemplate.objects.values_list("visit_type", "name"))
    created = []
    for visit_type, (name, sections) in DEFAULT_TEMPLATES.items():
        if (visit_type, name) in existing:
            continue
        template = RecordTemplate.objects.create(
            organization=organization,
            visit_type=visit_type,
            name=name,
            sections=_stored_sections(sections),
        )
        created.append(template)
    return created


@transaction.atomic
def record_template_create(
    *,
    actor: Staff,
    clinic: Clinic,
    visit_type: str,
    name: str,
    sections: dict[str, Any],
    is_active: bool = True,
) -> RecordTemplate:
    template = RecordTemplate(
        organization_id=clinic.organization_id,
        visit_type=_clean_visit_type(visit_type),
        name=_clean_name(name),
        sections=_stored_sections(sections),
        is_active=is_active,
    )
    _require_unique(template)
    template.save()
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=template,
        actor=actor,
        clinic=clinic,
        after=snapshot(template),
        summary=gettext("Record template %(name)s added") % {"name": template.name},
    )
    return template


@transaction.atomic
def record_template_update(
    *, actor: Staff, clinic: Clinic, template: RecordTemplate, **changes: Any
) -> RecordTemplate:
    """Change any of visit_type, name, sections, is_active. Existing records keep their text."""
    unknown = set(changes) - {"visit_type", "name", "sections", "is_active"}
    if unknown:
        raise TypeError(f"unexpected template fields: {sorted(unknown)}")
    template = RecordTemplate.objects.select_for_update().filter(pk=template.pk).first()
    if template is None:
        raise NotFound(_("Template not found."))
    before = snapshot(template)
    if "visit_type" in changes:
        template.visit_type = _clean_visit_type(changes["visit_type"])
    if "name" in changes:
        template.name = _clean_name(changes["name"])
    if "sections" in changes:
        template.sections = _stored_sections(changes["sections"] or {})
    if "is_active" in changes:
        template.is_active = bool(changes["is_active"])
    _require_unique(template)
    template.save()
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=template,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(template),
        summary=gettext("Record template %(name)s changed") % {"name": template.name},
    )
    return template


def record_template_deactivate(
    *, actor: Staff, clinic: Clinic, template: RecordTemplate
) -> RecordTemplate:
    """Stop offering the template for new records (records made from it are unaffected)."""
    return record_template_update(actor=actor, clinic=clinic, template=template, is_active=False)
