from tortoise import migrations

from backend.kit.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0015_credit_projects")]

    operations = [append_only("credit_project_event")]
