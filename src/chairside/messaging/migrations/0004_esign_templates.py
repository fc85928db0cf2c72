from django.db import migrations

# Copies, not imports: a migration must do the same thing whatever the code says later.
BODIES = {
    "esign.sign_request": (
        "{patient_name}您好，{clinic_name}请您在线签署文件（编号{document_number}），"
        "请打开 {url} 核对并签署。如有疑问请致电{clinic_phone}。"
    ),
    "esign.sign_code": (
        "您正在签署{clinic_name}的电子文件，验证码为{code}，{minutes}分钟内有效。"
        "请勿将验证码告诉他人。"
    ),
    "esign.enrol_code": (
        "您正在申请电子签名证书，验证码为{code}，{minutes}分钟内有效。如非本人操作，请联系管理员。"
    ),
}


def install(apps, schema_editor):
    """Give organizations that already have the standard SMS templates the signing messages
    (new organizations get them from messaging.defaults)."""
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    reminders = MessageTemplate.objects.filter(
        clinic__isnull=True, code="appointment.reminder", channel="sms", language="zh-hans"
    )
    for reminder in reminders:
        for code, body in BODIES.items():
            exists = MessageTemplate.objects.filter(
                organization_id=reminder.organization_id,
                clinic__isnull=True,
                code=code,
                channel="sms",
                language="zh-hans",
            ).exists()
            if not exists:
                MessageTemplate.objects.create(
                    organization_id=reminder.organization_id,
                    code=code,
                    channel="sms",
                    language="zh-hans",
                    sms_sign=reminder.sms_sign,
                    body=body,
                )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_membership_renewal_template")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
