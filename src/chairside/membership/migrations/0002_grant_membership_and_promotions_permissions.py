from django.db import migrations

# A copy, not an import: a migration must do the same thing whatever the code says later.
GRANTS = {
    "boss": [
        "membership.view", "membership.enrol", "membership.manage", "membership.points",
        "promotions.view", "promotions.issue", "promotions.manage",
    ],
    "hq_operator": [
        "membership.view", "membership.manage", "promotions.view", "promotions.issue",
        "promotions.manage",
    ],
    "clinic_manager": [
        "membership.view", "membership.enrol", "membership.points", "promotions.view",
        "promotions.issue",
    ],
    "front_desk": ["membership.view", "membership.enrol", "promotions.view", "promotions.issue"],
    "marketing": ["membership.view", "promotions.view", "promotions.issue", "promotions.manage"],
}


def grant(apps, schema_editor):
    """Give existing organizations' default roles the membership and promotions permissions
    (new organizations get them from core.permissions.DEFAULT_ROLES)."""
    Role = apps.get_model("core", "Role")
    for role in Role.objects.filter(code__in=GRANTS):
        missing = [p for p in GRANTS[role.code] if p not in role.permissions]
        if missing:
            role.permissions = [*role.permissions, *missing]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("membership", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
