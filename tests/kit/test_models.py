"""Model conventions that the migrations rely on (checked without a database)."""

import importlib
import inspect

from tortoise.models import Model

from backend.kit.db import MODEL_MODULES


def test_model_docstrings_hold_no_semicolons():
    # Tortoise writes a model's docstring into its CREATE TABLE as a comment, and its SQLite
    # migration runner splits scripts at ';': a semicolon there breaks the embedded mode.
    offenders = [
        f"{module}.{name}"
        for module in MODEL_MODULES
        for name, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(cls, Model) and cls is not Model and ";" in (cls.__doc__ or "")
    ]
    assert offenders == []
