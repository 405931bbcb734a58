"""The SDL contract and the apps' trusted documents (DESIGN.md: API conventions)."""

import json
from dataclasses import replace

import httpx
import pytest
from graphql import parse, print_ast

from backend.api import contract
from backend.api.schema import build_schema
from backend.api.trusted import DocumentRefused, TrustedDocuments, document_id
from backend.app import create_app
from backend.settings import load_settings

SCHEMA = build_schema(load_settings({"TPH_ENV": "test"}))


def test_the_committed_schema_is_current():
    assert contract.SCHEMA_PATH.read_text() == contract.export_sdl(SCHEMA), (
        "run `tanpuhui export-schema`"
    )


def test_every_breaking_change_since_the_baseline_is_declared():
    undeclared = contract.undeclared_breaking_changes(
        contract.BASELINE_PATH.read_text(),
        contract.export_sdl(SCHEMA),
        contract.BREAKING_PATH.read_text(),
    )
    assert undeclared == []


def test_every_app_document_validates_against_the_schema():
    assert contract.contract_documents(), "the apps send at least one document"
    assert contract.invalid_documents(SCHEMA._schema) == []


def test_the_manifest_is_current():
    assert contract.MANIFEST_PATH.read_text() == contract.build_manifest(), (
        "run `tanpuhui build-manifest`"
    )


BASE = "type Query { a: Int, b: String }"


def test_removing_a_field_is_breaking_and_must_be_declared():
    changes = contract.breaking_changes(BASE, "type Query { a: Int }")
    assert changes == ["FIELD_REMOVED: Field Query.b was removed."]
    declared = "- FIELD_REMOVED: Field Query.b was removed.: replaced by c, clients updated in 2.3"
    assert contract.undeclared_breaking_changes(BASE, "type Query { a: Int }", declared) == []
    assert contract.undeclared_breaking_changes(BASE, "type Query { a: Int }", "") == changes


def test_adding_a_field_is_not_breaking():
    assert contract.breaking_changes(BASE, "type Query { a: Int, b: String, c: Int }") == []


def test_a_document_that_no_longer_validates_is_reported(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Gone.graphql").write_text("query Gone { serverInfo { removedField } }")
    problems = contract.invalid_documents(SCHEMA._schema, tmp_path)
    assert len(problems) == 1 and "removedField" in problems[0]


@pytest.mark.parametrize(
    "text",
    [
        "query A { a } query B { b }",
        "{ serverInfo { version } }",
        "type X { a: Int } query Q { a }",
    ],
)
def test_contract_files_hold_one_named_operation(tmp_path, text):
    (tmp_path / "X.graphql").write_text(text)
    with pytest.raises(ValueError):
        contract.contract_documents(tmp_path)


def test_typenames_are_added_as_apollo_client_adds_them():
    source = """
    query Wallet($id: ID!) {
      node(id: $id) { id ...Bits }
      serverInfo { version __typename }
    }
    fragment Bits on AuditEvent { action details }
    """
    printed = contract.as_sent(source)
    # Not in the operation's root selection; once per nested selection set, fragments included.
    assert printed == print_ast(
        parse("""
    query Wallet($id: ID!) {
      node(id: $id) { id ...Bits __typename }
      serverInfo { version __typename }
    }
    fragment Bits on AuditEvent { action details __typename }
    """)
    )


def test_manifest_ids_are_the_sha256_of_the_document_as_sent():
    manifest = json.loads(contract.MANIFEST_PATH.read_text())
    assert manifest["format"] == "apollo-persisted-query-manifest"
    for operation in manifest["operations"]:
        assert operation["id"] == document_id(operation["body"])
        assert "__typename" in operation["body"]


DOCS = TrustedDocuments({document_id("query A { a }"): "query A { a }"})
A_ID = document_id("query A { a }")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {
                "query": None,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": A_ID}},
                "document_id_field": None,
            },
            "query A { a }",
        ),
        (
            {"query": None, "extensions": None, "document_id_field": f"sha256:{A_ID}"},
            "query A { a }",
        ),
        ({"query": None, "extensions": None, "document_id_field": A_ID}, "query A { a }"),
        (
            {"query": "query A { a }", "extensions": None, "document_id_field": None},
            "query A { a }",
        ),
        (
            {"query": "query A { a }", "extensions": None, "document_id_field": A_ID},
            "query A { a }",
        ),
    ],
)
def test_trusted_documents_are_found_every_way_a_client_names_them(kwargs, expected):
    assert DOCS.resolve(**kwargs, trusted_only=True) == expected


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        (
            {"query": "{ b }", "extensions": None, "document_id_field": None},
            "PERSISTED_QUERY_REQUIRED",
        ),
        (
            {"query": None, "extensions": None, "document_id_field": "f" * 64},
            "PERSISTED_QUERY_NOT_FOUND",
        ),
        (
            {"query": "{ b }", "extensions": None, "document_id_field": A_ID},
            "PERSISTED_QUERY_HASH_MISMATCH",
        ),
        (
            {
                "query": None,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": A_ID}},
                "document_id_field": "e" * 64,
            },
            "BAD_REQUEST",
        ),
        (
            {"query": None, "extensions": {"persistedQuery": "x"}, "document_id_field": None},
            "PERSISTED_QUERY_NOT_SUPPORTED",
        ),
        ({"query": None, "extensions": None, "document_id_field": None}, "BAD_REQUEST"),
        ({"query": None, "extensions": None, "document_id_field": A_ID.upper()}, "BAD_REQUEST"),
    ],
)
def test_untrusted_or_mismatched_documents_are_refused(kwargs, code):
    with pytest.raises(DocumentRefused) as refused:
        DOCS.resolve(**kwargs, trusted_only=True)
    assert refused.value.code == code


def test_outside_production_ad_hoc_documents_run():
    assert (
        DOCS.resolve(query="{ b }", extensions=None, document_id_field=None, trusted_only=False)
        == "{ b }"
    )


def test_a_manifest_with_a_wrong_id_is_refused(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"operations": [{"id": "0" * 64, "name": "X", "body": "{ a }"}]}))
    with pytest.raises(ValueError, match="wrong id"):
        TrustedDocuments.from_manifest(path)


async def test_production_serves_the_apps_documents_by_id(settings):
    app = create_app(
        replace(settings, trusted_documents_only=True, introspection=False, graphiql=False),
        manage_resources=False,
    )
    manifest = json.loads(contract.MANIFEST_PATH.read_text())
    entry = next(op for op in manifest["operations"] if op["name"] == "CitizenServerInfo")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        by_hash = await http.post(
            "/graphql",
            json={
                "operationName": "CitizenServerInfo",
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": entry["id"]}},
            },
        )
        assert by_hash.status_code == 200, by_hash.text
        assert by_hash.json()["data"]["serverInfo"]["__typename"] == "ServerInfo"
        by_document_id = await http.post("/graphql", json={"documentId": f"sha256:{entry['id']}"})
        assert by_document_id.json()["data"]["serverInfo"]["businessTimeZone"] == "Asia/Shanghai"
        as_text = await http.post("/graphql", json={"query": entry["body"]})
        assert as_text.status_code == 200
        edited = await http.post("/graphql", json={"query": entry["body"].replace("time\n", "")})
        assert edited.status_code == 400


async def test_production_gives_no_field_suggestions_and_no_introspection(settings):
    # A caller allowed ad-hoc documents (not an end user) still learns nothing of the schema.
    hardened = replace(settings, introspection=False, graphiql=False)
    schema = build_schema(hardened)
    from tests.conftest import make_context

    typo = await schema.execute("{ serverInf { version } }", context_value=make_context(hardened))
    assert "Did you mean" not in typo.errors[0].message
    introspect = await schema.execute(
        "{ __schema { types { name } } }", context_value=make_context(hardened)
    )
    assert introspect.data is None
    assert introspect.errors[0].extensions["code"] == "GRAPHQL_VALIDATION_FAILED"
