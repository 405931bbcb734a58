"""Language choice and bilingual domain errors."""

import pytest

from backend.kit.errors import InvalidInput, NotFound, pick_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en;q=0.5, zh-TW;q=0.8", "zh-CN"),
        ("fr-FR, en;q=0.3", "en"),
        ("fr-FR", "zh-CN"),
        ("en;q=0, zh;q=0.1", "zh-CN"),
        ("en;q=abc", "zh-CN"),
        (";;,,", "zh-CN"),
    ],
)
def test_accept_language_picks_zh_cn_or_en(header, expected):
    assert pick_language(header) == expected


def test_domain_errors_speak_both_languages():
    error = InvalidInput(field="amount", reason="must be positive", reason_zh="必须为正数")
    assert error.code == "INVALID_INPUT"
    assert error.message("en") == "Invalid input in amount: must be positive"
    assert error.message("zh-CN") == "输入有误（amount）：必须为正数"
    assert NotFound(what="offer", what_zh="兑换商品").message("zh-CN") == "未找到兑换商品。"
