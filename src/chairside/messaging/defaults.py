"""The templates a new organization starts with: Chinese texts for the appointment events,
the portal's sign-in code and membership renewal reminders. Clinics edit them afterwards;
these are data, not translations."""

from __future__ import annotations

from chairside.messaging.models import ChannelType

_CALL_US = "如需改约请致电{clinic_phone}。"

# (event, channel, text)
DEFAULT_TEMPLATES: list[tuple[str, str, str]] = [
    (
        "appointment.confirmation",
        ChannelType.SMS,
        "{patient_name}您好，您已预约{start}在{clinic_name}就诊。" + _CALL_US,
    ),
    (
        "appointment.reminder",
        ChannelType.SMS,
        "{patient_name}您好，温馨提醒：您预约了{start}在{clinic_name}就诊，请提前10分钟到达。"
        + _CALL_US,
    ),
    (
        "appointment.changed",
        ChannelType.SMS,
        "{patient_name}您好，您在{clinic_name}的预约已由{previous_start}改为{start}。" + _CALL_US,
    ),
    (
        "appointment.cancelled",
        ChannelType.SMS,
        "{patient_name}您好，您{start}在{clinic_name}的预约已取消。如需重新预约请致电{clinic_phone}。",
    ),
    (
        "portal.login_code",
        ChannelType.SMS,
        "您的登录验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
    ),
    (
        "membership.renewal",
        ChannelType.SMS,
        "{patient_name}您好，您在{organization_name}的{tier_name}（卡号{card_number}）将于"
        "{expires_on}到期，续费请咨询前台或致电{clinic_phone}。",
    ),
    (
        "esign.sign_request",
        ChannelType.SMS,
        "{patient_name}您好，{clinic_name}请您在线签署文件（编号{document_number}），"
        "请打开 {url} 核对并签署。如有疑问请致电{clinic_phone}。",
    ),
    (
        "esign.sign_code",
        ChannelType.SMS,
        "您正在签署{clinic_name}的电子文件，验证码为{code}，{minutes}分钟内有效。"
        "请勿将验证码告诉他人。",
    ),
    (
        "esign.enrol_code",
        ChannelType.SMS,
        "您正在申请电子签名证书，验证码为{code}，{minutes}分钟内有效。如非本人操作，请联系管理员。",
    ),
    (
        "appointment.confirmation",
        ChannelType.WECHAT,
        "{patient_name}您好，您已预约{start}在{clinic_name}就诊，医生：{doctor_name}。",
    ),
    (
        "appointment.reminder",
        ChannelType.WECHAT,
        "{patient_name}您好，您预约了{start}在{clinic_name}就诊，请提前10分钟到达。",
    ),
    (
        "appointment.changed",
        ChannelType.WECHAT,
        "{patient_name}您好，您的预约已由{previous_start}改为{start}，地点：{clinic_name}。",
    ),
    (
        "appointment.cancelled",
        ChannelType.WECHAT,
        "{patient_name}您好，您{start}在{clinic_name}的预约已取消。",
    ),
]
