"""The API contract: the exported SDL, breaking changes against the released baseline, and the apps'
trusted documents with their manifest (DESIGN.md, "The SDL contract")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    find_breaking_changes,
    parse,
    print_ast,
    validate,
)
from graphql.language import Visitor, visit

from backend.api.trusted import document_id
from backend.settings import ROOT

SCHEMA_DIR = ROOT / "schema"
SCHEMA_PATH = SCHEMA_DIR / "schema.graphql"
BASELINE_PATH = SCHEMA_DIR / "baseline.graphql"
BREAKING_PATH = SCHEMA_DIR / "BREAKING.md"
CONTRACT_DIR = ROOT / "mobile_contract"
MANIFEST_PATH = CONTRACT_DIR / "manifest.json"

BREAKING_HEADER = """# Breaking changes since the baseline

Each breaking change between `baseline.graphql` (the last released contract) and `schema.graphql`
is listed here as `- <TYPE>: <description>: <reason>`, the type and description exactly as
`tanpuhui check-contract` prints them. `tanpuhui release-schema` advances the baseline and empties
this list.

"""


def export_sdl(schema: object) -> str:
    """The SDL of a strawberry schema, as committed in schema/schema.graphql."""
    return str(schema).rstrip() + "\n"


def breaking_changes(baseline_sdl: str, current_sdl: str) -> list[str]:
    """Each breaking change as 'TYPE: description' (graphql-core's find_breaking_changes)."""
    old = build_schema(baseline_sdl)
    new = build_schema(current_sdl)
    return [f"{c.type.name}: {c.description}" for c in find_breaking_changes(old, new)]


def declared_breaking_changes(text: str) -> set[str]:
    declared = set()
    for line in text.splitlines():
        if line.startswith("- "):
            # "- TYPE: description: reason" -> "TYPE: description"
            entry = line[2:]
            kind, _, rest = entry.partition(": ")
            description, _, _reason = rest.rpartition(": ")
            declared.add(f"{kind}: {description or rest}")
    return declared


def undeclared_breaking_changes(
    baseline_sdl: str, current_sdl: str, declared_text: str
) -> list[str]:
    declared = declared_breaking_changes(declared_text)
    return [c for c in breaking_changes(baseline_sdl, current_sdl) if c not in declared]


class _AddTypename(Visitor):
    """Apollo Client's addTypenameToDocument: `__typename` in every selection set but the
    operation's root one, unless it is already there."""

    def enter_selection_set(self, node: SelectionSetNode, key, parent, path, ancestors):  # type: ignore[no-untyped-def]
        if isinstance(parent, OperationDefinitionNode):
            return None
        if isinstance(parent, FieldNode) and parent.name.value.startswith("__"):
            return None
        if any(
            isinstance(s, FieldNode) and s.name.value == "__typename" and s.alias is None
            for s in node.selections
        ):
            return None
        typename = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())
        return SelectionSetNode(selections=(*node.selections, typename))


def add_typename(document: DocumentNode) -> DocumentNode:
    return visit(document, _AddTypename())


def as_sent(source: str) -> str:
    """The document text an Apollo client sends for `source`: typenames added, then printed."""
    return print_ast(add_typename(parse(source)))


@dataclass(frozen=True)
class ContractDocument:
    path: Path
    name: str
    kind: str
    body: str

    @property
    def id(self) -> str:
        return document_id(self.body)


def contract_documents(contract_dir: Path = CONTRACT_DIR) -> list[ContractDocument]:
    """Every `*.graphql` under the contract folder: one named operation each (fragments allowed)."""
    documents = []
    for path in sorted(contract_dir.rglob("*.graphql")):
        parsed = parse(path.read_text(encoding="utf-8"))
        operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
        others = [
            d
            for d in parsed.definitions
            if not isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
        ]
        if len(operations) != 1 or operations[0].name is None or others:
            raise ValueError(f"{path}: must hold exactly one named operation (and its fragments)")
        documents.append(
            ContractDocument(
                path=path,
                name=operations[0].name.value,
                kind=operations[0].operation.value,
                body=print_ast(add_typename(parsed)),
            )
        )
    names = [d.name for d in documents]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"operation names used twice: {', '.join(sorted(duplicates))}")
    return documents


def build_manifest(contract_dir: Path = CONTRACT_DIR) -> str:
    """Apollo's persisted-query manifest format, ids as the client computes them."""
    manifest = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": d.id, "name": d.name, "type": d.kind, "body": d.body}
            for d in contract_documents(contract_dir)
        ],
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def invalid_documents(schema: GraphQLSchema, contract_dir: Path = CONTRACT_DIR) -> list[str]:
    """Every contract document that does not validate against `schema`, with why."""
    problems = []
    for document in contract_documents(contract_dir):
        errors = validate(schema, parse(document.body))
        for error in errors:
            where = document.path.relative_to(contract_dir)
            problems.append(f"{where}: {error.message}")
    return problems


def check_contract(schema: object) -> list[str]:
    """Everything CI checks of the contract; an empty list means it holds."""
    problems = []
    sdl = export_sdl(schema)
    if not SCHEMA_PATH.exists() or SCHEMA_PATH.read_text(encoding="utf-8") != sdl:
        problems.append("schema/schema.graphql is stale: run `tanpuhui export-schema`")
    if not BASELINE_PATH.exists():
        problems.append("schema/baseline.graphql is missing: run `tanpuhui release-schema`")
    else:
        declared = BREAKING_PATH.read_text(encoding="utf-8") if BREAKING_PATH.exists() else ""
        for change in undeclared_breaking_changes(
            BASELINE_PATH.read_text(encoding="utf-8"), sdl, declared
        ):
            problems.append(f"undeclared breaking change (list it in schema/BREAKING.md): {change}")
    graphql_schema = schema._schema  # type: ignore[attr-defined]
    problems.extend(invalid_documents(graphql_schema))
    if not MANIFEST_PATH.exists() or MANIFEST_PATH.read_text(encoding="utf-8") != build_manifest():
        problems.append("mobile_contract/manifest.json is stale: run `tanpuhui build-manifest`")
    return problems
