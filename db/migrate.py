"""Alembic, driven from code so `followup db upgrade` works from an installed package too."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect


def alembic_config(database_url: str) -> Config:
    """Alembic's config, with the migrations found inside the installed `db` package."""
    config = Config()
    config.set_main_option("script_location", "db:migrations")
    # ConfigParser interpolation would choke on a percent sign in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head", engine: Engine | None = None) -> None:
    """Apply migrations up to `revision`; reuses `engine`'s connection when given."""
    config = alembic_config(database_url)
    if engine is not None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    else:
        command.upgrade(config, revision)


def current_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (its alembic_version row), or None for an empty one."""
    with engine.connect() as connection:
        if "alembic_version" not in set(inspect(connection).get_table_names()):
            return None
        revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return str(revision) if revision is not None else None
