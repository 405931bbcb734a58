"""Check each ledger transaction's zero sum once at commit, not once per posting.

The deferred trigger fires for every posting; the first firing for a transaction sums all of its
postings (all are written by then) and marks the transaction checked for the rest of the database
transaction (a transaction-local setting), so a 1,000-posting transaction is summed once, not
1,000 times (bench/RESULTS.md).
"""

from tortoise import migrations

from backend.kit.migration_ops import postgres_only

CHECK_ONCE = """
CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
    marker text := 'tph_balanced.t' || NEW.transaction_id;
BEGIN
    IF current_setting(marker, true) = '1' THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(SUM(amount), 0) INTO total FROM ledger_posting
        WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: postings sum to %',
            NEW.transaction_id, total USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config(marker, '1', true);
    RETURN NULL;
END $$;
"""

CHECK_EVERY_POSTING = """
CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE total numeric;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total FROM ledger_posting
        WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: postings sum to %',
            NEW.transaction_id, total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0007_ledger_rules")]

    operations = [postgres_only([CHECK_ONCE], [CHECK_EVERY_POSTING])]
