from tortoise import migrations

from backend.kit.migration_ops import by_dialect


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0019_credit_blocks")]

    # A block is a non-empty range of serials.
    operations = [
        by_dialect(
            postgres=[
                "ALTER TABLE credit_block ADD CONSTRAINT credit_block_range"
                " CHECK (serial_start >= 1 AND serial_end >= serial_start)"
            ],
            sqlite=[
                """
                CREATE TRIGGER credit_block_range BEFORE INSERT ON credit_block
                WHEN NEW.serial_start < 1 OR NEW.serial_end < NEW.serial_start
                BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: credit_block_range'); END;
                """
            ],
        )
    ]
