"""The database: tables, migrations, and the small functions that read and write them.

SQLite by default (a file created on first run), PostgreSQL when a URL names one. The schema is
created and upgraded by the Alembic migrations shipped in ``migrations/``, run on start-up.
"""

from attunement.store.database import Database, default_database_url, open_database

__all__ = ["Database", "default_database_url", "open_database"]
