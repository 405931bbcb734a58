from tortoise import migrations

from backend.kit.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0004_consent")]

    # A published notice never changes; a grant's history is never rewritten.
    operations = [append_only("consent_notice"), append_only("grant_event")]
