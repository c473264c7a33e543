"""The application for each uvicorn worker process when ``attunement serve --workers N`` runs more
than one: uvicorn starts the workers itself and asks each for its app through this factory.

The database URL travels in ``ATTUNEMENT_DATABASE_URL``; the parent process has already brought
the schema up to date, so each worker only checks it. Each worker loads its own forecast model.
"""

from __future__ import annotations

from fastapi import FastAPI

from attunement.store import open_database
from attunement.store.database import default_database_url
from attunement.web.app import create_app


def make_app() -> FastAPI:
    """One worker's app on the database named by ``ATTUNEMENT_DATABASE_URL``."""
    return create_app(database=open_database(default_database_url()))
