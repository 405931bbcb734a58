"""Model conventions that the migrations rely on."""

from tortoise import Tortoise


def test_model_docstrings_hold_no_semicolons(settings):
    # Tortoise writes a model's docstring into its CREATE TABLE as a comment, and its SQLite
    # migration runner splits scripts at ';': a semicolon there breaks the embedded mode.
    offenders = [
        model.__name__
        for app in Tortoise.apps.values()
        for model in app.values()
        if ";" in (model.__doc__ or "")
    ]
    assert offenders == []
