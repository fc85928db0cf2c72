from django.db import migrations

# A copy, not an import: a migration must do the same thing whatever the code says later.
GRANTS = {
    "boss": [
        "clinical.view", "clinical.write", "clinical.amend", "clinical.templates",
        "plans.view", "plans.write", "plans.approve", "plans.execute",
        "billing.view", "billing.charge", "billing.discount", "billing.discount_approve",
        "billing.refund", "billing.refund_approve", "billing.close", "billing.catalogue",
        "billing.stored_value", "billing.view_all",
    ],
    "hq_operator": ["billing.view", "billing.view_all", "billing.catalogue", "clinical.templates"],
    "clinic_manager": [
        "plans.view", "plans.execute", "plans.approve", "clinical.view", "clinical.amend",
        "billing.view", "billing.charge", "billing.discount", "billing.refund",
        "billing.stored_value", "billing.discount_approve", "billing.refund_approve",
        "billing.close",
    ],
    "front_desk": [
        "plans.view", "plans.execute", "billing.view", "billing.charge", "billing.discount",
        "billing.refund", "billing.stored_value", "billing.close",
    ],
    "doctor": [
        "clinical.view", "clinical.write", "clinical.amend", "plans.view", "plans.write",
        "plans.execute", "billing.view",
    ],
    "nurse": ["clinical.view", "plans.view"],
    "consultant": ["plans.view", "plans.write"],
}


def grant(apps, schema_editor):
    """Give existing organizations' default roles the clinical and billing permissions (new
    organizations get them from core.permissions.DEFAULT_ROLES)."""
    Role = apps.get_model("core", "Role")
    for role in Role.objects.filter(code__in=GRANTS):
        missing = [p for p in GRANTS[role.code] if p not in role.permissions]
        if missing:
            role.permissions = [*role.permissions, *missing]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("clinical", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
