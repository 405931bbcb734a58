from tortoise import migrations

from backend.kit.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0017_issuance")]

    operations = [append_only("credit_issuance_event")]
