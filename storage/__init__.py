"""storage: the relational model, its migrations, and repositories over SQLite (default) or PostgreSQL.

Knows the listener's `Post` record and the nlp result types; never imports jobs, web or the CLI.
"""
