"""Demo billing data for `chairside seed`: a Chinese dental chain's price list (about 65
items over every category, with 医保 codes where basic care is covered) and the usual
top-up promotions. Both installs are idempotent: items and rules already there are kept.

Prices are typical of a private chain in a large city (CNY). Names are data, so they are
Chinese as a clinic's would be. Codes match the service codes of the demo appointment types.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from chairside.billing.models import CatalogueItem, Category, TopUpBonusRule, Unit
from chairside.billing.services.catalogue import catalogue_item_create
from chairside.billing.services.stored_value import top_up_bonus_rule_create
from chairside.core.models import Clinic, Organization, Staff
from chairside.core.tenancy import tenant_scope

C = Category
U = Unit

# code, name, category, unit, price, 医保 code ("" when not covered), member discounts apply
CATALOGUE: tuple[tuple[str, str, str, str, str, str, bool], ...] = (
    # 挂号 registration
    ("reg-general", "普通门诊挂号费", C.REGISTRATION, U.PER_VISIT, "20", "110200001", True),
    ("reg-expert", "专家门诊挂号费", C.REGISTRATION, U.PER_VISIT, "100", "110200002", True),
    ("reg-chief", "主任医师挂号费", C.REGISTRATION, U.PER_VISIT, "200", "", True),
    # 基础治疗 basic
    ("exam", "口腔检查", C.BASIC, U.PER_VISIT, "30", "310100001", True),
    ("scaling", "全口龈上洁治（洁牙）", C.BASIC, U.PER_VISIT, "280", "", True),
    ("polishing", "全口抛光", C.BASIC, U.PER_VISIT, "100", "", True),
    ("desensitize", "牙齿脱敏治疗", C.BASIC, U.PER_TOOTH, "80", "310510001", True),
    ("temp-filling", "暂封", C.BASIC, U.PER_TOOTH, "50", "", True),
    ("occlusal-adjust", "咬合调整", C.BASIC, U.PER_VISIT, "150", "", True),
    # 修复 restorative
    ("composite-filling", "树脂充填（单面）", C.RESTORATIVE, U.PER_TOOTH, "300", "310511001", True),
    (
        "composite-filling-complex",
        "树脂充填（复杂/多面）",
        C.RESTORATIVE,
        U.PER_TOOTH,
        "500",
        "310511002",
        True,
    ),
    ("gic-filling", "玻璃离子充填", C.RESTORATIVE, U.PER_TOOTH, "200", "310511003", True),
    ("post-core", "纤维桩核", C.RESTORATIVE, U.PER_TOOTH, "800", "", True),
    ("temp-crown", "临时冠", C.RESTORATIVE, U.PER_TOOTH, "200", "", True),
    ("crown-pfm", "烤瓷冠（钴铬合金）", C.RESTORATIVE, U.PER_TOOTH, "1200", "", True),
    ("crown-zirconia", "全瓷冠（氧化锆）", C.RESTORATIVE, U.PER_TOOTH, "3800", "", True),
    ("crown-emax", "全瓷冠（E.max 铸瓷）", C.RESTORATIVE, U.PER_TOOTH, "4800", "", True),
    ("inlay-ceramic", "全瓷嵌体", C.RESTORATIVE, U.PER_TOOTH, "2800", "", True),
    ("denture-partial", "可摘局部义齿（单颌）", C.RESTORATIVE, U.PER_ARCH, "2500", "", True),
    ("denture-full", "全口义齿（单颌）", C.RESTORATIVE, U.PER_ARCH, "4000", "", True),
    # 牙体牙髓 endodontic
    ("root-canal", "根管治疗（前牙）", C.ENDODONTIC, U.PER_TOOTH, "1200", "310513001", True),
    ("root-canal-premolar", "根管治疗（前磨牙）", C.ENDODONTIC, U.PER_TOOTH, "1600", "", True),
    ("root-canal-molar", "根管治疗（磨牙）", C.ENDODONTIC, U.PER_TOOTH, "2200", "", True),
    ("root-canal-retreat", "根管再治疗（磨牙）", C.ENDODONTIC, U.PER_TOOTH, "2800", "", True),
    ("microscope-endo", "显微根管治疗附加费", C.ENDODONTIC, U.PER_TOOTH, "800", "", True),
    ("pulpotomy", "活髓切断术（乳牙）", C.ENDODONTIC, U.PER_TOOTH, "400", "310513005", True),
    # 牙周 periodontal
    ("perio-exam", "牙周检查（牙周袋探诊）", C.PERIODONTAL, U.PER_VISIT, "100", "", True),
    ("srp-quadrant", "龈下刮治及根面平整（每象限）", C.PERIODONTAL, U.PER_ITEM, "600", "", True),
    ("srp-arch", "龈下刮治及根面平整（单颌）", C.PERIODONTAL, U.PER_ARCH, "1100", "", True),
    ("perio-flap", "牙周翻瓣术（每象限）", C.PERIODONTAL, U.PER_ITEM, "2000", "", True),
    ("gingivectomy", "牙龈切除术", C.PERIODONTAL, U.PER_TOOTH, "800", "", True),
    ("perio-maintenance", "牙周维护治疗", C.PERIODONTAL, U.PER_VISIT, "400", "", True),
    # 口腔外科 surgery
    ("extraction", "拔牙（简单）", C.SURGERY, U.PER_TOOTH, "200", "310516001", True),
    ("extraction-primary", "乳牙拔除", C.SURGERY, U.PER_TOOTH, "80", "310516002", True),
    ("extraction-complex", "复杂牙拔除", C.SURGERY, U.PER_TOOTH, "600", "310516003", True),
    ("extraction-impacted", "阻生齿拔除", C.SURGERY, U.PER_TOOTH, "1200", "310516004", True),
    (
        "extraction-impacted-hard",
        "阻生齿拔除（高位/骨埋伏）",
        C.SURGERY,
        U.PER_TOOTH,
        "2000",
        "",
        True,
    ),
    ("apicoectomy", "根尖切除术", C.SURGERY, U.PER_TOOTH, "1500", "", True),
    ("frenectomy", "唇/舌系带修整术", C.SURGERY, U.PER_ITEM, "500", "", True),
    # 正畸 orthodontics
    ("ortho-consult", "正畸检查与方案设计", C.ORTHODONTICS, U.PER_VISIT, "500", "", True),
    ("ortho-metal", "金属托槽矫正（单颌）", C.ORTHODONTICS, U.PER_ARCH, "9000", "", True),
    ("ortho-ceramic", "陶瓷托槽矫正（单颌）", C.ORTHODONTICS, U.PER_ARCH, "12000", "", True),
    ("ortho-self-ligating", "自锁托槽矫正（单颌）", C.ORTHODONTICS, U.PER_ARCH, "15000", "", True),
    (
        "aligner-invisalign",
        "隐形矫正（隐适美 全程）",
        C.ORTHODONTICS,
        U.PER_ITEM,
        "38000",
        "",
        False,
    ),
    (
        "aligner-angelalign",
        "隐形矫正（时代天使 全程）",
        C.ORTHODONTICS,
        U.PER_ITEM,
        "26000",
        "",
        False,
    ),
    ("ortho-early", "儿童早期矫治", C.ORTHODONTICS, U.PER_ITEM, "8000", "", True),
    ("ortho-adjustment", "正畸复诊加力", C.ORTHODONTICS, U.PER_VISIT, "200", "", True),
    ("retainer", "保持器（单颌）", C.ORTHODONTICS, U.PER_ARCH, "800", "", True),
    # 种植 implant
    ("implant-consult", "种植咨询与方案设计", C.IMPLANT, U.PER_VISIT, "100", "", True),
    ("implant-dentium", "种植体（韩国登腾 Dentium）", C.IMPLANT, U.PER_TOOTH, "5800", "", False),
    ("implant-osstem", "种植体（韩国奥齿泰 Osstem）", C.IMPLANT, U.PER_TOOTH, "6800", "", False),
    (
        "implant-straumann",
        "种植体（瑞士士卓曼 Straumann SLA）",
        C.IMPLANT,
        U.PER_TOOTH,
        "12800",
        "",
        False,
    ),
    (
        "implant-straumann-slactive",
        "种植体（瑞士士卓曼 SLActive）",
        C.IMPLANT,
        U.PER_TOOTH,
        "16800",
        "",
        False,
    ),
    (
        "implant-nobel",
        "种植体（瑞典诺贝尔 NobelActive）",
        C.IMPLANT,
        U.PER_TOOTH,
        "15800",
        "",
        False,
    ),
    ("implant-crown", "种植上部修复（全瓷冠）", C.IMPLANT, U.PER_TOOTH, "3500", "", True),
    ("bone-graft", "植骨（Bio-Oss 骨粉 0.5g）", C.IMPLANT, U.PER_ITEM, "3000", "", True),
    ("sinus-lift", "上颌窦提升术（内提升）", C.IMPLANT, U.PER_TOOTH, "3000", "", True),
    ("all-on-4", "All-on-4 即刻负重全口种植（单颌）", C.IMPLANT, U.PER_ARCH, "88000", "", False),
    # 预防 prevention
    ("fluoride-varnish", "涂氟", C.PREVENTION, U.PER_VISIT, "150", "", True),
    ("sealant", "窝沟封闭", C.PREVENTION, U.PER_TOOTH, "150", "310512001", True),
    ("oral-hygiene", "口腔卫生指导", C.PREVENTION, U.PER_VISIT, "50", "", True),
    ("mouthguard", "运动护齿（定制）", C.PREVENTION, U.PER_ITEM, "800", "", True),
    # 美容 cosmetic
    ("whitening-office", "冷光美白（诊室）", C.COSMETIC, U.PER_VISIT, "2800", "", True),
    ("whitening-home", "家庭美白套装", C.COSMETIC, U.PER_ITEM, "1500", "", True),
    ("veneer-ceramic", "瓷贴面", C.COSMETIC, U.PER_TOOTH, "4500", "", True),
    ("veneer-composite", "树脂贴面", C.COSMETIC, U.PER_TOOTH, "1200", "", True),
    ("gum-contouring", "牙龈美学修整", C.COSMETIC, U.PER_TOOTH, "1000", "", True),
    # 影像 imaging
    ("periapical-xray", "根尖片", C.IMAGING, U.PER_ITEM, "30", "210100001", True),
    ("panoramic-xray", "全景片（曲面断层）", C.IMAGING, U.PER_ITEM, "150", "210100002", True),
    ("ceph-xray", "头颅侧位片", C.IMAGING, U.PER_ITEM, "200", "210100003", True),
    ("cbct", "CBCT（局部）", C.IMAGING, U.PER_ITEM, "300", "", True),
    ("cbct-full", "CBCT（全口）", C.IMAGING, U.PER_ITEM, "600", "", True),
    ("intraoral-scan", "口内扫描", C.IMAGING, U.PER_VISIT, "300", "", True),
)

# name, threshold, bonus
BONUS_RULES = (
    ("充1000送100", "1000", "100"),
    ("充3000送400", "3000", "400"),
    ("充5000送800", "5000", "800"),
)


def _acting_clinic() -> Clinic:
    """Where the demo's writes are recorded: the HQ office, or the first clinic."""
    clinic = Clinic.objects.order_by("kind", "id").filter(kind=Clinic.Kind.HEADQUARTERS).first()
    return clinic or Clinic.objects.order_by("id").first()


def demo_catalogue_install(*, organization: Organization, actor: Staff) -> int:
    """Add the demo price list to `organization`; items whose code exists are kept as they
    are. `actor` needs billing.catalogue for the whole organization. Returns how many items
    were added."""
    with tenant_scope(organization), transaction.atomic():
        clinic = _acting_clinic()
        existing = set(CatalogueItem.objects.values_list("code", flat=True))
        added = 0
        for code, name, category, unit, price, insurance_code, member in CATALOGUE:
            if code in existing:
                continue
            catalogue_item_create(
                actor=actor,
                clinic=clinic,
                code=code,
                name=name,
                category=category,
                unit=unit,
                price=Decimal(price),
                insurance_code=insurance_code,
                member_discount_allowed=member,
            )
            added += 1
        return added


def demo_bonus_rules_install(*, organization: Organization, actor: Staff) -> int:
    """Add the usual top-up promotions (充1000送100, 充3000送400, 充5000送800), open-ended;
    rules already there by name are kept. Returns how many were added."""
    with tenant_scope(organization), transaction.atomic():
        clinic = _acting_clinic()
        existing = set(TopUpBonusRule.objects.values_list("name", flat=True))
        added = 0
        for name, threshold, bonus in BONUS_RULES:
            if name in existing:
                continue
            top_up_bonus_rule_create(
                actor=actor,
                clinic=clinic,
                name=name,
                threshold=Decimal(threshold),
                bonus=Decimal(bonus),
            )
            added += 1
        return added
