from tortoise import migrations

from backend.kit.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0009_methodology")]

    # Lifecycle history and ratio versions are never rewritten.
    operations = [append_only("methodology_event"), append_only("earning_ratio")]
