from django.db import migrations

# A copy, not an import: a migration must do the same thing whatever the code says later.
BODY = (
    "{patient_name}您好，您在{organization_name}的{tier_name}（卡号{card_number}）将于"
    "{expires_on}到期，续费请咨询前台或致电{clinic_phone}。"
)


def install(apps, schema_editor):
    """Give organizations that already have the standard SMS templates the renewal reminder
    (new organizations get it from messaging.defaults)."""
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    reminders = MessageTemplate.objects.filter(
        clinic__isnull=True, code="appointment.reminder", channel="sms", language="zh-hans"
    )
    for reminder in reminders:
        exists = MessageTemplate.objects.filter(
            organization_id=reminder.organization_id,
            clinic__isnull=True,
            code="membership.renewal",
            channel="sms",
            language="zh-hans",
        ).exists()
        if not exists:
            MessageTemplate.objects.create(
                organization_id=reminder.organization_id,
                code="membership.renewal",
                channel="sms",
                language="zh-hans",
                sms_sign=reminder.sms_sign,
                body=BODY,
            )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_grant_messaging_permissions")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
