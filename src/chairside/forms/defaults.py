"""The form templates an organization starts with: the implant, extraction and orthodontic
consents (知情同意书), the first-visit health questionnaire and the prescription (处方笺).

Their Chinese wording is data a clinic edits in the template builder, not a translation.
`forms.services.templates.form_templates_install_defaults` installs the ones an
organization lacks (by code); migration 0003 installed a frozen copy for organizations that
existed before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def h(text: str) -> dict[str, Any]:
    return {"type": "heading", "text": text}


def p(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "text": text}


def f(
    key: str,
    label: str,
    kind: str,
    *,
    required: bool = False,
    options: list[str] | None = None,
    help: str = "",
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "field",
        "key": key,
        "label": label,
        "kind": kind,
        "required": required,
    }
    if options is not None:
        block["options"] = options
    if help:
        block["help"] = help
    return block


@dataclass(frozen=True)
class DefaultTemplate:
    code: str
    name: str
    kind: str
    blocks: list[dict[str, Any]]
    signers: list[str]
    requires_id_number: bool = False
    title: str = ""

    @property
    def printed_title(self) -> str:
        return self.title or self.name


CONSENT_SIGNERS = ["patient", "doctor", "seal"]

_PATIENT_LINE = (
    "患者姓名：{{patient.name}}　　性别：{{patient.gender}}　　年龄：{{patient.age}}岁"
    "　　病历号：{{patient.record_number}}"
)
_TREATMENT_LINE = "拟行治疗项目：{{treatment.items}}\n主诊医师：{{doctor.name}}　　日期：{{today}}"

_CONSENT_CLOSING = [
    f(
        "understood",
        "我已仔细阅读本同意书，医师已用我能理解的语言向我解释了上述内容，我的问题均已得到解答",
        "checkbox",
        required=True,
    ),
    f(
        "questions",
        "患者提出的问题及医师的解答（如有）",
        "text",
    ),
    f(
        "proxy",
        "代理人姓名及与患者关系（患者本人签署的不填；未成年人或无民事行为能力者由监护人签署）",
        "text",
    ),
]

IMPLANT = DefaultTemplate(
    code="implant-consent",
    name="种植知情同意书",
    kind="consent",
    signers=CONSENT_SIGNERS,
    blocks=[
        p(_PATIENT_LINE),
        p(_TREATMENT_LINE),
        h("一、疾病诊断与治疗目的"),
        p(
            "经临床检查及影像学检查（CBCT），患者存在牙列缺损/缺失，医师建议采用牙种植体修复。"
            "种植修复是将人工牙根（种植体，通常为纯钛或钛合金）植入缺牙区颌骨内，待种植体与骨组织"
            "形成骨结合后，在其上部制作牙冠、桥体或覆盖义齿，以恢复咀嚼功能和美观。"
        ),
        p(
            "治疗一般分为以下阶段：（1）术前检查与设计，包括口腔检查、CBCT、血常规及凝血功能等"
            "必要检查；（2）一期手术，植入种植体；（3）愈合期，一般为3至6个月，视骨质情况而定，"
            "必要时行二期手术安放愈合基台；（4）取模及戴入上部修复体；（5）定期复查与维护。"
            "如骨量不足，可能需要同期或分期进行引导骨再生（植骨）、上颌窦底提升等骨增量手术。"
        ),
        h("二、可能出现的风险及并发症"),
        p(
            "种植手术是一种成熟、可靠的治疗方法，但由于个体差异及医学科学的局限性，治疗中及治疗后"
            "仍可能出现以下情况，医师将尽力预防和处理："
        ),
        p(
            "1. 麻醉相关风险：局部麻醉药物过敏、晕厥、心慌、血压升高等，严重者可危及生命。\n"
            "2. 术中及术后出血、局部肿胀、疼痛、皮下淤血，一般于1至2周内逐渐消退。\n"
            "3. 术区感染：可导致伤口愈合不良、植骨材料暴露或种植失败，需抗感染治疗或再次手术。\n"
            "4. 神经损伤：下颌种植可能损伤下牙槽神经或颏神经，导致下唇、颏部麻木或感觉异常，"
            "多数可在数周至数月内恢复，极少数可能长期存在。\n"
            "5. 上颌窦并发症：上颌后牙区种植可能发生上颌窦黏膜穿孔、上颌窦炎，必要时需中止手术"
            "或择期再行手术。\n"
            "6. 邻近组织损伤：邻牙牙根损伤、鼻底穿通、口腔黏膜损伤等。\n"
            "7. 种植体骨结合失败或松动脱落：发生率虽低，但吸烟、糖尿病控制不佳、骨质疏松、"
            "夜磨牙及口腔卫生不良等会增加风险；失败后需取出种植体，待愈合后可再行种植。\n"
            "8. 植骨材料吸收、移位或感染，骨增量效果未达预期，可能需要再次植骨。\n"
            "9. 修复后并发症：牙龈退缩、黑三角、食物嵌塞、修复体崩瓷、中央螺丝松动或折断、"
            "咬合不适等，需调整或重新制作。\n"
            "10. 种植体周围炎：长期口腔卫生不良可导致种植体周围骨吸收，严重者种植体脱落。\n"
            "11. 术中根据实际骨量、骨质情况，医师可能需要调整种植体的数目、型号、位置，"
            "或改为分期手术，甚至中止手术。"
        ),
        h("三、其他可选择的治疗方案"),
        p(
            "除种植修复外，缺牙还可选择：（1）固定桥修复，需磨切缺牙两侧的健康牙齿作为基牙；"
            "（2）可摘局部义齿或全口义齿（活动假牙），费用较低，但舒适度与咀嚼效率较差，需每日摘戴"
            "清洁；（3）暂不修复，但可能出现邻牙倾斜、对颌牙伸长、咬合紊乱及牙槽骨吸收等后果。"
            "医师已向我介绍上述方案的优缺点及费用，我经过考虑选择种植修复。"
        ),
        h("四、费用说明"),
        p(
            "种植治疗费用包括种植体、基台、上部修复体及手术费用，具体以治疗方案及收费单为准。"
            "术中如需植骨、使用骨膜、上颌窦提升或更换种植系统，将产生额外费用，医师会在可能的情况下"
            "事先告知。种植体一经植入，其材料费用不予退还；因患者个人原因中途终止治疗的，已完成部分"
            "的费用不予退还。种植体质保以种植体厂家及本院的质保政策为准，因患者未按要求复查、吸烟、"
            "外伤等原因导致的失败不在质保范围内。"
        ),
        h("五、患者须配合的事项"),
        p(
            "1. 如实告知全身病史、过敏史、用药史（特别是抗凝药、双膦酸盐类药物）及是否妊娠。\n"
            "2. 术前按医嘱完成各项检查；术后24小时内勿漱口、勿刷术区，按时服药，冰敷减轻肿胀。\n"
            "3. 戒烟或尽量减少吸烟；糖尿病、高血压患者须将血糖、血压控制在医师要求的范围内。\n"
            "4. 愈合期内避免用术区咀嚼硬物，按约复诊拆线、取模及戴牙。\n"
            "5. 戴牙后每半年至一年复查一次，并定期洁牙，保持良好的口腔卫生。"
        ),
        h("六、患者声明"),
        p(
            "我已如实向医师提供了病史。医师已向我详细告知病情、种植治疗的目的、方法、过程、"
            "可能的风险及并发症、其他可选择的治疗方案及费用。我理解医学是一门实践科学，任何治疗都"
            "存在一定风险，医师无法对治疗结果作出绝对保证。经慎重考虑，我自愿接受种植治疗，并授权"
            "医师在术中遇到紧急或不可预见的情况时，按照诊疗规范采取必要的处理措施。"
        ),
        f(
            "bone_graft",
            "如术中发现骨量不足需要植骨或上颌窦提升",
            "choice",
            required=True,
            options=["同意医师视情况当即处理，并承担相应费用", "不同意，先中止手术再与我商量"],
        ),
        *_CONSENT_CLOSING,
        f("patient_sign", "患者（或监护人）签名", "patient_signature"),
        f("doctor_sign", "医师签名", "doctor_signature"),
    ],
)

EXTRACTION = DefaultTemplate(
    code="extraction-consent",
    name="拔牙知情同意书",
    kind="consent",
    signers=CONSENT_SIGNERS,
    blocks=[
        p(_PATIENT_LINE),
        p(_TREATMENT_LINE),
        h("一、拔牙原因"),
        p(
            "经临床检查及影像学检查，医师认为患者的上述牙齿因严重龋坏无法保留、残根残冠、"
            "牙周病导致严重松动、阻生或反复冠周炎、正畸治疗需要、影响修复等原因，建议拔除。"
            "复杂拔牙（如阻生齿）可能需要切开牙龈、去除部分骨质及分割牙齿，手术时间较长。"
        ),
        h("二、可能出现的风险及并发症"),
        p(
            "拔牙是口腔科常见手术，但由于个体差异、牙齿位置及解剖结构的复杂性，术中及术后可能发生"
            "以下情况："
        ),
        p(
            "1. 麻醉意外：局部麻醉药过敏、晕厥、心慌、血压升高，极少数严重者可危及生命。\n"
            "2. 出血：术后24小时内唾液中带少量血丝属正常现象；患有高血压、凝血功能异常或服用"
            "抗凝药物者出血风险增加，可能需要缝合、填塞止血或到医院进一步处理。\n"
            "3. 术后疼痛、面部肿胀、张口受限、皮下淤血，复杂拔牙后较为明显，一般于1周内缓解。\n"
            "4. 干槽症：拔牙窝血凝块脱落导致剧烈疼痛，多发生于术后2至4天，需复诊处理。\n"
            "5. 感染：局部感染或间隙感染，需抗感染治疗，必要时切开引流。\n"
            "6. 断根：牙根弯曲、与骨粘连或根尖细小时可能断裂，医师将视情况取出或留置观察。\n"
            "7. 邻牙及修复体损伤：邻牙松动、牙冠或充填体折裂脱落。\n"
            "8. 神经损伤：下颌阻生智齿拔除可能损伤下牙槽神经或舌神经，出现下唇、舌部麻木，"
            "多数可逐渐恢复，极少数恢复时间较长或不能完全恢复。\n"
            "9. 上颌窦穿通：上颌后牙牙根与上颌窦紧邻，拔除后可能出现口腔与上颌窦相通，"
            "需进行修补并遵医嘱注意事项。\n"
            "10. 颞下颌关节不适、下颌骨骨折（极罕见）、牙或牙根进入周围组织间隙等。"
        ),
        h("三、其他可选择的治疗方案"),
        p(
            "根据牙齿情况，部分牙齿可尝试根管治疗、牙周治疗或桩核冠修复以保留；阻生智齿无症状者"
            "可暂时观察、定期复查。不拔除病灶牙可能导致反复疼痛、感染加重、邻牙龋坏或骨质吸收。"
            "医师已向我说明各方案的利弊，我选择拔除。"
        ),
        h("四、费用说明"),
        p(
            "拔牙费用按牙位及难易程度收取，具体以收费单为准。术中如需切开翻瓣、去骨、分根、缝合、"
            "使用止血材料或拍摄X线片确认，将按价目表另行收费。拔牙后缺牙的修复（种植、固定桥或"
            "活动义齿）费用另计。"
        ),
        h("五、术后注意事项"),
        p(
            "1. 咬紧纱布或棉球30至40分钟后吐出，24小时内勿漱口、勿刷术区、勿用吸管。\n"
            "2. 2小时后可进温凉软食，避免术侧咀嚼；当天避免剧烈运动、饮酒、吸烟及热水浴。\n"
            "3. 术后48小时内可冷敷，之后可热敷；如有缝线，一般7至10天拆线。\n"
            "4. 如出现持续出血、剧烈疼痛、发热或明显肿胀，请及时返院就诊。"
        ),
        h("六、患者声明"),
        p(
            "我已如实告知病史、过敏史及用药情况（包括抗凝药、双膦酸盐类药物）。医师已向我说明"
            "拔牙的原因、方法、可能出现的风险和并发症、其他可选择的治疗方案及费用，我已充分理解。"
            "我自愿接受拔牙治疗，并同意医师在术中根据实际情况采取必要的处理措施。"
        ),
        f(
            "anticoagulant",
            "目前是否服用抗凝或抗血小板药物（如阿司匹林、氯吡格雷、华法林）",
            "choice",
            required=True,
            options=["否", "是，已遵医嘱处理", "是，未停药"],
        ),
        *_CONSENT_CLOSING,
        f("patient_sign", "患者（或监护人）签名", "patient_signature"),
        f("doctor_sign", "医师签名", "doctor_signature"),
    ],
)

ORTHODONTIC = DefaultTemplate(
    code="ortho-consent",
    name="正畸知情同意书",
    kind="consent",
    signers=CONSENT_SIGNERS,
    blocks=[
        p(_PATIENT_LINE),
        p(_TREATMENT_LINE),
        h("一、治疗目的与方案"),
        p(
            "口腔正畸是通过矫治器对牙齿施加适当的力，使牙齿及颌骨逐步移动到较理想的位置，"
            "以改善咬合功能、牙齿排列及面部美观。根据检查、模型及头颅侧位片分析，医师制定了矫治方案，"
            "治疗时间一般为1.5至3年，具体因个人牙齿移动速度、生长发育及配合程度而异。"
        ),
        f(
            "appliance",
            "矫治器类型",
            "choice",
            required=True,
            options=["金属托槽", "陶瓷托槽", "自锁托槽", "隐形矫治器", "其他"],
        ),
        f(
            "extraction_plan",
            "拔牙方案",
            "choice",
            required=True,
            options=["不拔牙矫治", "拔牙矫治", "待观察后决定"],
        ),
        h("二、治疗中可能出现的问题及风险"),
        p(
            "1. 不适与疼痛：初戴矫治器及每次加力后，牙齿可能酸痛、咬合无力，一般3至5天缓解；"
            "托槽可能摩擦口腔黏膜引起溃疡。\n"
            "2. 龋齿与牙齿脱矿：矫治器容易滞留食物，口腔卫生不良时牙面可出现白垩色脱矿斑或龋齿。\n"
            "3. 牙龈问题：牙龈炎症、增生，成年人可能出现牙龈退缩、牙间“黑三角”。\n"
            "4. 牙根吸收：牙齿移动中可能发生牙根轻度吸收，个别情况较为明显。\n"
            "5. 牙髓反应：原有外伤或深龋的牙齿，在移动中可能出现牙髓坏死，需行根管治疗。\n"
            "6. 颞下颌关节症状：治疗期间可能出现关节弹响、疼痛或张口不适。\n"
            "7. 治疗时间延长：不按时复诊、矫治器频繁脱落损坏、隐形矫治器佩戴时间不足（每日少于"
            "20至22小时）等，会延长疗程、影响效果。\n"
            "8. 方案调整：因生长发育变化、牙齿移动不如预期等原因，医师可能需要调整矫治方案，"
            "包括增加拔牙、使用微种植体支抗或配合正颌手术。\n"
            "9. 复发：矫治结束后牙齿有回到原来位置的趋势，须按医嘱长期佩戴保持器，"
            "否则可能复发。\n"
            "10. 面型变化：矫治可能引起面部软组织的轻度变化，个体对美观的感受存在差异。"
        ),
        h("三、其他可选择的方案"),
        p(
            "患者也可以选择不矫治，或仅以修复方式（如贴面、牙冠）改善部分牙齿的外观。"
            "不矫治可能导致咬合紊乱持续、清洁困难及牙周问题加重。严重骨性畸形者可能需要"
            "正畸与正颌外科联合治疗。"
        ),
        h("四、费用说明"),
        p(
            "矫治费用按所选矫治器及方案一次确定，可按约定分期支付，具体以收费单为准。"
            "费用包含疗程内常规复诊及一副保持器；矫治器因患者原因丢失或损坏需重新制作的、"
            "正畸前后的拔牙、洁牙、补牙、微种植体等费用另计。因患者个人原因中途终止治疗的，"
            "已发生的费用及已定制的矫治器费用不予退还。"
        ),
        h("五、患者须配合的事项"),
        p(
            "1. 每4至8周按约复诊，如需改期请提前联系诊所。\n"
            "2. 每餐后认真刷牙，使用牙缝刷、冲牙器等，每半年洁牙一次。\n"
            "3. 避免啃咬硬物及黏性食物；托槽脱落或弓丝扎嘴请及时联系医师。\n"
            "4. 隐形矫治器须每天佩戴20至22小时，按时更换下一副。\n"
            "5. 矫治结束后按医嘱佩戴保持器，前半年全天佩戴，之后按医嘱逐步减少。"
        ),
        h("六、患者声明"),
        p(
            "医师已向我（及监护人）详细介绍了正畸治疗的目的、方案、疗程、可能出现的问题、"
            "其他可选择的方案及费用。我理解矫治效果与个人生长发育及配合程度密切相关，医师无法"
            "保证达到完美的效果。我自愿接受正畸治疗，并承诺按医嘱复诊和佩戴保持器。"
        ),
        f("retainer", "我了解矫治结束后须长期佩戴保持器，否则可能复发", "checkbox", required=True),
        *_CONSENT_CLOSING,
        f("patient_sign", "患者（或监护人）签名", "patient_signature"),
        f("doctor_sign", "医师签名", "doctor_signature"),
    ],
)

_YES_NO = ["无", "有"]

QUESTIONNAIRE = DefaultTemplate(
    code="health-questionnaire",
    name="初诊健康问卷",
    kind="questionnaire",
    signers=["patient"],
    blocks=[
        p(_PATIENT_LINE + "　　填写日期：{{today}}"),
        p(
            "为了您的就诊安全，请如实填写以下内容。您的信息将严格保密，仅用于诊疗。"
            "如有疑问，请向医护人员咨询。"
        ),
        h("一、就诊原因"),
        f(
            "complaints",
            "本次就诊的主要原因（可多选）",
            "multichoice",
            required=True,
            options=[
                "牙痛",
                "牙龈出血或肿痛",
                "牙齿松动",
                "缺牙修复",
                "牙齿不齐",
                "洁牙或口腔检查",
                "牙齿美白或美容",
                "儿童口腔检查",
                "其他",
            ],
        ),
        f("last_dental_visit", "上次看牙日期（大约）", "date"),
        h("二、过敏史与用药"),
        f("allergy", "药物或其他过敏史", "choice", required=True, options=_YES_NO),
        f(
            "allergy_detail",
            "过敏物质及表现（如青霉素、头孢、局部麻醉药、乳胶、碘）",
            "text",
        ),
        f("medication", "目前是否在服用药物", "choice", required=True, options=_YES_NO),
        f(
            "medication_detail",
            "正在服用的药物（特别是阿司匹林、氯吡格雷、华法林等抗凝药，双膦酸盐类药物，降压药，"
            "降糖药）",
            "text",
        ),
        h("三、全身健康状况（有则勾选）"),
        f("heart_disease", "心脏病（冠心病、心脏支架、起搏器、心脏瓣膜病等）", "checkbox"),
        f("hypertension", "高血压", "checkbox"),
        f("diabetes", "糖尿病", "checkbox"),
        f("bleeding_disorder", "出血性疾病或凝血功能异常（如血友病、血小板减少）", "checkbox"),
        f("infectious_disease", "传染性疾病（如乙肝、丙肝、结核、艾滋病、梅毒）", "checkbox"),
        f("respiratory", "哮喘或其他呼吸系统疾病", "checkbox"),
        f("epilepsy", "癫痫", "checkbox"),
        f("osteoporosis", "骨质疏松（或曾注射/口服抗骨质疏松药物）", "checkbox"),
        f("tumor", "肿瘤病史（或头颈部放疗、化疗史）", "checkbox"),
        f("other_conditions", "其他疾病或手术史", "text"),
        f("systolic", "最近一次测量的收缩压（高压，mmHg）", "number"),
        f("diastolic", "最近一次测量的舒张压（低压，mmHg）", "number"),
        f(
            "pregnancy",
            "女性患者：目前是否妊娠或哺乳",
            "choice",
            options=["不适用", "否", "妊娠期", "哺乳期", "备孕中"],
        ),
        h("四、生活习惯"),
        f("smoking", "吸烟情况", "choice", options=["不吸烟", "已戒烟", "偶尔吸烟", "每天吸烟"]),
        f(
            "brushing",
            "刷牙习惯",
            "choice",
            options=["每天一次", "每天两次及以上", "不规律"],
        ),
        f(
            "habits",
            "口腔习惯（可多选）",
            "multichoice",
            options=["夜磨牙", "紧咬牙", "使用牙线或牙缝刷", "使用冲牙器", "以上都没有"],
        ),
        f(
            "dental_anxiety",
            "看牙时是否紧张害怕",
            "choice",
            options=["不紧张", "有点紧张", "非常紧张"],
        ),
        h("五、声明"),
        f(
            "truthful",
            "本人确认以上信息真实、完整；如健康状况发生变化，将及时告知医护人员",
            "checkbox",
            required=True,
        ),
        f("patient_sign", "患者（或监护人）签名", "patient_signature"),
    ],
)

PRESCRIPTION = DefaultTemplate(
    code="prescription",
    name="处方笺",
    kind="prescription",
    signers=["doctor"],
    blocks=[
        p(
            "姓名：{{patient.name}}　　性别：{{patient.gender}}　　年龄：{{patient.age}}岁"
            "\n病历号：{{patient.record_number}}　　科别：口腔科　　开具日期：{{today}}"
        ),
        f("diagnosis", "临床诊断", "text", required=True),
        h("Rp"),
        f(
            "medicines",
            "药品名称、规格、数量及用法用量",
            "text",
            required=True,
            help="每行一种药品，例如：阿莫西林胶囊 0.25g×24粒 每次0.5g 每日3次 口服",
        ),
        f("advice", "医嘱", "text"),
        f("doctor_sign", "医师签名", "doctor_signature"),
        p(
            "处方开具当日有效。特殊情况需延长有效期的，由开具处方的医师注明有效期限，但最长不超过"
            "3天。请按医嘱用药，如出现皮疹、呼吸困难等过敏反应，立即停药并就医。"
        ),
    ],
)

DEFAULT_TEMPLATES: list[DefaultTemplate] = [
    IMPLANT,
    EXTRACTION,
    ORTHODONTIC,
    QUESTIONNAIRE,
    PRESCRIPTION,
]
