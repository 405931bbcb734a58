from tortoise import migrations

from backend.kit.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0001_initial")]

    operations = [append_only("audit_event")]
