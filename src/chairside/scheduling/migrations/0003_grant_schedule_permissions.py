"""Give the default roles of organizations created before scheduling existed its permissions
(new organizations get them from core.permissions.DEFAULT_ROLES)."""

from django.db import migrations

# A copy, not an import: a migration must do the same thing whatever the code says later.
GRANTS = {
    "boss": ["schedule.view", "schedule.view_own", "schedule.book", "schedule.treat", "schedule.manage"],
    "hq_operator": ["schedule.view"],
    "clinic_manager": ["schedule.view", "schedule.book", "schedule.manage"],
    "front_desk": ["schedule.view", "schedule.book"],
    "doctor": ["schedule.view_own", "schedule.treat"],
    "nurse": ["schedule.view"],
}


def grant(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    for role in Role.objects.filter(code__in=GRANTS):
        missing = [p for p in GRANTS[role.code] if p not in role.permissions]
        if missing:
            role.permissions = [*role.permissions, *missing]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_appointment_no_overlap"), ("core", "0001_initial")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
