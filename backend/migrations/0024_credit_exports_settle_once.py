from tortoise import migrations

from backend.kit.migration_ops import by_dialect


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0023_credit_exports")]

    # An export is settled (CONFIRMED or FAILED) once and then never changed; PostgreSQL also
    # refuses deleting one (the embedded mode never deletes).
    operations = [
        by_dialect(
            postgres=[
                """
                CREATE OR REPLACE FUNCTION credit_export_settle_once() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'DELETE' OR OLD.status <> 'PENDING' THEN
                        RAISE EXCEPTION 'credit_export % is settled: % refused', OLD.id, TG_OP
                            USING ERRCODE = 'restrict_violation';
                    END IF;
                    RETURN NEW;
                END $$;
                """,
                """
                CREATE TRIGGER credit_export_settle_once BEFORE UPDATE OR DELETE ON credit_export
                    FOR EACH ROW EXECUTE FUNCTION credit_export_settle_once();
                """,
            ],
            sqlite=[
                """
                CREATE TRIGGER credit_export_settle_once BEFORE UPDATE ON credit_export
                WHEN OLD.status <> 'PENDING'
                BEGIN SELECT RAISE(ABORT, 'credit_export is settled: UPDATE refused'); END;
                """
            ],
            postgres_back=[
                "DROP TRIGGER IF EXISTS credit_export_settle_once ON credit_export;",
                "DROP FUNCTION IF EXISTS credit_export_settle_once();",
            ],
            sqlite_back=[
                "DROP TRIGGER IF EXISTS credit_export_settle_once;",
            ],
        )
    ]
