"""The ledger's rules, kept by the database itself (RELIABILITY.md 1, 3, 4)."""

from tortoise import migrations

from backend.kit.migration_ops import append_only, by_dialect

SUBJECTS = "('PERSON', 'HOUSEHOLD', 'BUSINESS')"
# System accounts with fixed owner ids; their balances are derived from postings.
SYSTEM_ACCOUNTS = [
    ("ISSUANCE", "00000000-0000-4000-8000-00000000f001"),
    ("EXPIRY", "00000000-0000-4000-8000-00000000f002"),
    ("BURN", "00000000-0000-4000-8000-00000000f003"),
    ("CLAWBACK", "00000000-0000-4000-8000-00000000f004"),
]
INSERT_SYSTEM = [
    f"INSERT INTO ledger_account (public_id, kind, owner_id, balance, held, created_at) "
    f"VALUES ('{owner}', '{kind}', '{owner}', 0, 0, '2026-01-01 00:00:00+00:00')"
    for kind, owner in SYSTEM_ACCOUNTS
]

POSTGRES = [
    f"ALTER TABLE ledger_account ADD CONSTRAINT ledger_account_subject_nonnegative "
    f"CHECK (kind NOT IN {SUBJECTS} OR (balance >= 0 AND held >= 0))",
    "ALTER TABLE ledger_lot ADD CONSTRAINT ledger_lot_remaining_range "
    "CHECK (remaining >= 0 AND remaining <= amount AND amount > 0)",
    "ALTER TABLE ledger_hold ADD CONSTRAINT ledger_hold_positive CHECK (amount > 0)",
    "ALTER TABLE ledger_hold_part ADD CONSTRAINT ledger_hold_part_positive CHECK (amount > 0)",
    # Zero-sum per transaction, checked at commit (deferred), whatever wrote the postings.
    """
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
    """,
    """
    CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
    """,
    *INSERT_SYSTEM,
]
SQLITE = [
    f"""
    CREATE TRIGGER ledger_account_subject_nonnegative BEFORE UPDATE ON ledger_account
    WHEN NEW.kind IN {SUBJECTS} AND (NEW.balance < 0 OR NEW.held < 0)
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ledger_account_subject_nonnegative'); END;
    """,
    """
    CREATE TRIGGER ledger_lot_remaining_range BEFORE UPDATE ON ledger_lot
    WHEN NEW.remaining < 0 OR NEW.remaining > NEW.amount
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ledger_lot_remaining_range'); END;
    """,
    *INSERT_SYSTEM,
]


class Migration(migrations.Migration):
    dependencies = [("tanpuhui", "0006_ledger")]

    operations = [
        by_dialect(postgres=POSTGRES, sqlite=SQLITE),
        append_only("ledger_transaction"),
        append_only("ledger_posting"),
    ]
