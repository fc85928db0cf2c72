"""Give the default roles of existing organizations the message centre's permissions, as
new organizations get them from core.permissions.DEFAULT_ROLES (frozen here)."""

from django.db import migrations

GRANTS = {
    "boss": ["messaging.view", "messaging.view_all", "messaging.cancel", "messaging.templates"],
    "hq_operator": [
        "messaging.view",
        "messaging.view_all",
        "messaging.cancel",
        "messaging.templates",
    ],
    "clinic_manager": ["messaging.view", "messaging.cancel"],
    "front_desk": ["messaging.view", "messaging.cancel"],
    "marketing": ["messaging.view", "messaging.view_all", "messaging.templates"],
}


def grant(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    for role in Role.objects.filter(code__in=GRANTS):
        missing = [p for p in GRANTS[role.code] if p not in role.permissions]
        if missing:
            role.permissions = [*role.permissions, *missing]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("messaging", "0001_initial")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
