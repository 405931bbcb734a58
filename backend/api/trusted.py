"""Trusted documents (persisted queries): the operations the apps may send, by sha256 id.

Accepts Apollo's `extensions.persistedQuery.sha256Hash` and the GraphQL-over-HTTP `documentId`
(plain hex or "sha256:<hex>"). Checked before any parsing. In production, end users and anonymous
callers may send only documents listed in the manifest that `tanpuhui build-manifest` writes from
`mobile_contract/`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class DocumentRefused(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def document_id(body: str) -> str:
    """The id of a document: sha256 of its text exactly as the client sends it."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class TrustedDocuments:
    def __init__(self, documents: Mapping[str, str]) -> None:
        self._by_id = dict(documents)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._by_id

    @classmethod
    def from_manifest(cls, path: Path) -> TrustedDocuments:
        if not path.exists():
            return cls({})
        manifest = json.loads(path.read_text(encoding="utf-8"))
        documents: dict[str, str] = {}
        for operation in manifest.get("operations", []):
            body = operation["body"]
            if document_id(body) != operation["id"]:
                raise ValueError(f"manifest entry {operation.get('name')} has a wrong id")
            documents[operation["id"]] = body
        return cls(documents)

    def resolve(
        self,
        *,
        query: Any,
        extensions: Mapping[str, Any] | None,
        document_id_field: Any,
        trusted_only: bool,
    ) -> str:
        """The document text to run, or DocumentRefused."""
        doc_id = _requested_id(extensions, document_id_field)
        if query is not None and (not isinstance(query, str) or not query.strip()):
            raise DocumentRefused("BAD_REQUEST", "`query` must be a non-empty string.")
        if doc_id is not None:
            if query is not None and document_id(query) != doc_id:
                raise DocumentRefused(
                    "PERSISTED_QUERY_HASH_MISMATCH", "The document does not match its id."
                )
            known = self._by_id.get(doc_id)
            if known is not None:
                return known
            if query is not None and not trusted_only:
                return query
            raise DocumentRefused("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        if query is None:
            raise DocumentRefused("BAD_REQUEST", "No GraphQL query found in the request.")
        if trusted_only and document_id(query) not in self._by_id:
            raise DocumentRefused(
                "PERSISTED_QUERY_REQUIRED", "Only trusted documents are accepted from this client."
            )
        return query


def _requested_id(extensions: Mapping[str, Any] | None, document_id_field: Any) -> str | None:
    from_extension: str | None = None
    if extensions is not None:
        persisted = extensions.get("persistedQuery")
        if persisted is not None:
            if not isinstance(persisted, dict) or persisted.get("version", 1) != 1:
                raise DocumentRefused(
                    "PERSISTED_QUERY_NOT_SUPPORTED", "persistedQuery must be version 1."
                )
            from_extension = _check_id(persisted.get("sha256Hash"))
    from_field: str | None = None
    if document_id_field is not None:
        raw = document_id_field
        if isinstance(raw, str) and raw.startswith("sha256:"):
            raw = raw.removeprefix("sha256:")
        from_field = _check_id(raw)
    if from_extension and from_field and from_extension != from_field:
        raise DocumentRefused("BAD_REQUEST", "documentId and persistedQuery name different ids.")
    return from_extension or from_field


def _check_id(value: Any) -> str:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise DocumentRefused("BAD_REQUEST", "A document id must be 64 lower-case hex digits.")
    return value
