"""Alembic migrations of the attunement database, run on start-up."""
