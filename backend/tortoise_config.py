"""The ORM config for Tortoise's own CLI: `tortoise -c backend.tortoise_config.TORTOISE_ORM makemigrations`."""

from backend.kit.db import tortoise_config
from backend.settings import load_settings

TORTOISE_ORM = tortoise_config(load_settings())
