from django.db import migrations

# A copy, not an import: a migration must do the same thing whatever the code says later.
GRANTS = {
    "boss": [
        "forms.view", "forms.fill", "forms.templates", "forms.export",
        "esign.view", "esign.sign", "esign.manage",
    ],
    "hq_operator": ["forms.view", "forms.templates", "forms.export", "esign.view"],
    "clinic_manager": [
        "forms.view", "forms.fill", "forms.templates", "forms.export",
        "esign.view", "esign.sign", "esign.manage",
    ],
    "front_desk": ["forms.view", "forms.fill", "esign.view"],
    "doctor": ["forms.view", "forms.fill", "esign.view", "esign.sign"],
    "nurse": ["forms.view", "forms.fill"],
    "consultant": ["forms.view", "forms.fill"],
}


def grant(apps, schema_editor):
    """Give existing organizations' default roles the forms and e-signature permissions
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
        ("forms", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
