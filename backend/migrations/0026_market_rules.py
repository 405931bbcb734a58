from tortoise import migrations

from backend.kit.migration_ops import append_only, by_dialect


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0025_market")]

    # A callback event is applied at most once, a listing never offers less than nothing, and the
    # callback record, the proceeds and the ratio history are never rewritten.
    operations = [
        by_dialect(
            postgres=[
                "CREATE UNIQUE INDEX payment_callback_applied_once ON payment_callback"
                " (provider, event_id) WHERE outcome = 'APPLIED'",
                "ALTER TABLE credit_listing ADD CONSTRAINT credit_listing_available"
                " CHECK (available_kg >= 0 AND available_kg <= listed_kg)",
            ],
            sqlite=[
                "CREATE UNIQUE INDEX payment_callback_applied_once ON payment_callback"
                " (provider, event_id) WHERE outcome = 'APPLIED'",
                """
                CREATE TRIGGER credit_listing_available BEFORE UPDATE ON credit_listing
                WHEN NEW.available_kg < 0 OR NEW.available_kg > NEW.listed_kg
                BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: credit_listing_available'); END;
                """,
            ],
            postgres_back=[
                "DROP INDEX IF EXISTS payment_callback_applied_once;",
                "ALTER TABLE credit_listing DROP CONSTRAINT IF EXISTS credit_listing_available;",
            ],
            sqlite_back=[
                "DROP INDEX IF EXISTS payment_callback_applied_once;",
                "DROP TRIGGER IF EXISTS credit_listing_available;",
            ],
        ),
        append_only("payment_callback"),
        append_only("seller_proceeds"),
        append_only("points_per_kg"),
    ]
