"""Repositories named by intent (`ingest`, `import_merchants`, `add_user` ...) over SQLAlchemy async sessions.

Transactions belong to the caller (a job or a CLI command): a repository flushes, it never commits.
"""
