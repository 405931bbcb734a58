"""Privacy rights (PIPL): a citizen downloads all their data as JSON, and deletes their account:
personal data erased, open vouchers cancelled (points back), authorisations withdrawn, sessions
ended, the pseudonymous ledger kept and reconciled; the same number later starts a new account."""

from backend import verify
from backend.accounts.models import Person
from backend.accounts.subjects import Subject, SubjectKind
from backend.audit.models import AuditEvent
from backend.certificates import disclosure
from backend.certificates.models import LeaderboardEntry
from backend.consent import grants
from backend.consent.models import DataGrant
from backend.ledger import queries as wallet
from backend.rewards import service as rewards
from backend.rewards.models import Voucher
from tests.conftest import bearer, gql, log_in
from tests.consent.conftest import world  # noqa: F401 - a fixture, used by name
from tests.rewards.conftest import fund, make_offer, member

DELETE = """mutation ($i: DeleteMyAccountInput!) { deleteMyAccount(input: $i) {
    __typename ... on AccountDeleted { deletedAt } ... on Error { code } } }"""
PHONE = "+8613700000001"  # alice's, in the consent world


async def test_a_citizen_downloads_their_data_and_deletes_their_account(world, client, sms):  # noqa: F811
    alice = world.alice
    subject = Subject(SubjectKind.PERSON, alice.id)  # type: ignore[arg-type]
    await grants.grant(
        actor=alice,
        subject=subject,
        platform_id=world.platform,
        notice_id=str(world.notice.public_id),
        categories=None,
        expires_at=None,
        meter_accounts=None,
    )
    await fund(alice, 1000)
    from backend.accounts import organisations
    from tests.consent.conftest import AUTHORITY

    shop = await organisations.register_organisation(actor=AUTHORITY, kind="MERCHANT", name="店")
    manager = member(str(shop.public_id), "manager")
    offer = await make_offer(manager)
    voucher = await rewards.redeem(
        actor=alice, offer_id=str(offer.public_id), idempotency_key="privacy-tap-1", subject=subject
    )
    await disclosure.opt_in(actor=alice, alias="骑行者", join=True)
    tokens = await log_in(client, sms, PHONE)
    token = tokens["accessToken"]

    exported = await client.get("/privacy/v1/export", headers=bearer(token))
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment")
    data = exported.json()
    assert data["person"] == {**data["person"], "id": alice.id, "phone": PHONE}
    assert [g["status"] for g in data["dataGrants"]] == ["AUTHORISED"]
    assert [v["status"] for v in data["vouchers"]] == ["ISSUED"]
    assert data["wallet"]["held"] == voucher.points and data["leaderboard"][0]["alias"] == "骑行者"
    assert (await client.get("/privacy/v1/export")).status_code == 401

    wrong = await gql(
        client, DELETE, {"i": {"confirmPhone": "+8613700000002"}}, headers=bearer(token)
    )
    assert wrong["data"]["deleteMyAccount"]["code"] == "INVALID_INPUT"
    assert (await Person.get(public_id=alice.id)).deleted_at is None
    done = await gql(client, DELETE, {"i": {"confirmPhone": "13700000001"}}, headers=bearer(token))
    assert done["data"]["deleteMyAccount"]["__typename"] == "AccountDeleted"

    gone = await Person.get(public_id=alice.id)
    assert gone.phone != PHONE and gone.totp_secret is None and gone.deleted_at is not None
    # The token no longer works; nothing personal is left, the ledger is whole and reconciles.
    after = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=bearer(token))
    assert after.status_code == 401
    [grant] = await DataGrant.filter(subject_id=alice.id)
    assert grant.status.value == "WITHDRAWN"
    assert (await Voucher.get(id=voucher.id)).status.value == "CANCELLED"
    summary = await wallet.summary(subject)
    assert (summary.balance, summary.held) == (1000, 0)
    assert not await LeaderboardEntry.filter(person_id=alice.id).exists()
    assert await disclosure.leaderboard(10) == []
    assert await AuditEvent.filter(action="accounts.deleted", object_id=alice.id).exists()
    assert await verify.verify_all() == []
    # The same number, later (a recycled number, say): a new, empty account. (The login-code
    # limit per number is reset as time would.)
    from backend.kit.redis import get_redis

    await get_redis().flushdb()
    again = await log_in(client, sms, PHONE)
    me = await gql(client, "{ me { id } }", headers=bearer(again["accessToken"]))
    assert me["data"]["me"]["id"] != alice.id
    second = await gql(client, DELETE, {"i": {"confirmPhone": PHONE}}, headers=bearer(token))
    assert "errors" in second or second["data"]["deleteMyAccount"]["__typename"] != "AccountDeleted"
