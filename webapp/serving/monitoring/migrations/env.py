"""Alembic's entry point: run the migrations on the connection `migrate.py` hands over."""

from alembic import context

from webapp.serving.monitoring.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
