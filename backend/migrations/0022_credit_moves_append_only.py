from tortoise import migrations

from backend.kit.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0021_credit_moves")]

    # Retirements are never undone; the transfer history is never rewritten.
    operations = [append_only("credit_retirement"), append_only("credit_transfer")]
