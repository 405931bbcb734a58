"""Every ledger test ends with the reconciliation holding (RELIABILITY.md 2)."""

import uuid

import pytest

from backend import verify
from backend.accounts.subjects import Subject, SubjectKind


@pytest.fixture(autouse=True)
async def ledger_reconciles(settings):
    yield
    findings = await verify.verify_all()
    assert findings == [], findings


@pytest.fixture
def alice() -> Subject:
    return Subject(SubjectKind.PERSON, str(uuid.uuid4()))


@pytest.fixture
def bob() -> Subject:
    return Subject(SubjectKind.PERSON, str(uuid.uuid4()))
