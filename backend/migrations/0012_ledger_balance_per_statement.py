"""Check the zero sum once per INSERT statement instead of once per posting at commit.

The deferred row trigger (0007, 0008) fired for every posting: an ingestion batch of 1,000
earnings (2,000 postings) spent ~600 ms of a ~720 ms batch in it (bench/RESULTS.md). This
statement-level trigger sees the statement's new postings as a transition table and checks, in one
query, that every ledger transaction they touch sums to zero over all its postings. The service
writes each transaction's postings in one statement, so the rule is the same: a transaction never
stays unbalanced; a statement that leaves one unbalanced is refused at once.
"""

from tortoise import migrations

from backend.kit.migration_ops import postgres_only

FORWARD = [
    "DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting",
    """
    CREATE OR REPLACE FUNCTION ledger_statement_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
        SELECT p.transaction_id, SUM(p.amount) AS total INTO bad
            FROM ledger_posting p
            WHERE p.transaction_id IN (SELECT DISTINCT transaction_id FROM new_postings)
            GROUP BY p.transaction_id HAVING SUM(p.amount) <> 0 LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger transaction % does not balance: postings sum to %',
                bad.transaction_id, bad.total USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$;
    """,
    """
    CREATE TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_statement_balanced();
    """,
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting",
    "DROP FUNCTION IF EXISTS ledger_statement_balanced()",
    """
    CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
    """,
]


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0011_behaviour")]

    operations = [postgres_only(FORWARD, BACKWARD)]
