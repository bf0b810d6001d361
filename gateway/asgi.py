"""The ASGI entry point for uvicorn workers: settings from the environment."""

from .app import create_app
from .settings import load_settings

app = create_app(load_settings())
