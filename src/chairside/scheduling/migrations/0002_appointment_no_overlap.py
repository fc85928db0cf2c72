"""PostgreSQL's last line of defence against double booking: exclusion constraints that
refuse two active appointments of one doctor, or of one chair, whose times overlap.

Only on PostgreSQL (btree_gist lets a GiST index compare the ids with =); SQLite has no
such constraint, and there the booking services' checks, under SQLite's single writer,
are the guard. The constraints are not in the models' Meta, so the migration state (and
`makemigrations --check`) does not know them; the service turns their error into a 409.
Ranges are half-open ([start, end)), so back-to-back appointments do not overlap.
"""

from django.db import migrations

ACTIVE = "status NOT IN ('cancelled', 'no_show')"

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"""
    ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_doctor_no_overlap
    EXCLUDE USING gist (
        organization_id WITH =, doctor_id WITH =, tstzrange(start, "end", '[)') WITH &&
    ) WHERE ({ACTIVE})
    """,
    f"""
    ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_chair_no_overlap
    EXCLUDE USING gist (
        organization_id WITH =, chair_id WITH =, tstzrange(start, "end", '[)') WITH &&
    ) WHERE ({ACTIVE} AND chair_id IS NOT NULL)
    """,
]

DROP = [
    "ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_chair_no_overlap",
    "ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_doctor_no_overlap",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
