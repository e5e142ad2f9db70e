"""Alembic migrations of the schema in `storage.models`, applied by `storage.migrate`."""
