"""The SQLite store: ``store`` (the LocalStore), ``schema`` (tables, indexes, migrations),
``writer`` (group commit), ``outbox`` (the outbox's writes) and ``pages`` (the listings)."""
