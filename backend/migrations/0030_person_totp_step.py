from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0029_appeals')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Person',
            name='totp_last_step',
            field=fields.BigIntField(null=True),
        ),
    ]
