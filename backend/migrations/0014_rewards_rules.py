from tortoise import migrations

from backend.kit.migration_ops import by_dialect


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0013_rewards")]

    # Stock never goes below zero or above the total, whatever writes it.
    operations = [
        by_dialect(
            postgres=[
                "ALTER TABLE reward_offer ADD CONSTRAINT reward_offer_stock_range"
                " CHECK (stock_left >= 0 AND stock_left <= total_stock)"
            ],
            sqlite=[
                """
                CREATE TRIGGER reward_offer_stock_range BEFORE UPDATE ON reward_offer
                WHEN NEW.stock_left < 0 OR NEW.stock_left > NEW.total_stock
                BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: reward_offer_stock_range'); END;
                """
            ],
        )
    ]
