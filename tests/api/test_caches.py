"""Parsing and validation are cached across requests (PERFORMANCE-NOTES.md 1)."""

from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from backend.api.extensions import DOCUMENT_CACHE_SIZE
from backend.api.schema import build_schema
from tests.conftest import make_context


async def test_a_repeated_document_is_parsed_and_validated_once(settings):
    schema = build_schema(settings)
    query = "query CacheProbe { serverInfo { version environment } }"
    await schema.execute(query, context_value=make_context(settings))
    parsed = _get_parse_cache(DOCUMENT_CACHE_SIZE).cache_info()
    validated = _get_validate_cache(DOCUMENT_CACHE_SIZE).cache_info()
    for _ in range(3):
        result = await schema.execute(query, context_value=make_context(settings))
        assert result.errors is None
    assert _get_parse_cache(DOCUMENT_CACHE_SIZE).cache_info().hits == parsed.hits + 3
    # The limit rules are made once per schema, so the validation cache's key stays the same.
    assert _get_validate_cache(DOCUMENT_CACHE_SIZE).cache_info().hits == validated.hits + 3
