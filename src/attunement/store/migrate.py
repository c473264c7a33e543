"""Run the Alembic migrations shipped inside the package, on start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` on a connection of ``engine``.

    SQLite changes a table's columns or constraints by copying it into a new table; with
    foreign keys enforced, dropping the old copy of a table that others refer to would fail. So,
    as SQLite's own procedure for such changes says, enforcement is off while the migrations
    run (it can only be switched outside a transaction), every reference is checked once they
    have run, inside the same transaction, and enforcement is back on before the connection is
    used for anything else.
    """
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            _driver_execute(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left {len(broken)} rows with a broken reference")
        finally:
            if sqlite:
                _driver_execute(connection, "PRAGMA foreign_keys=ON")


def _driver_execute(connection: Connection, sql: str) -> None:
    """Run ``sql`` on the driver's own connection, outside SQLAlchemy's transaction."""
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the database connection was closed")
    driver.execute(sql)
