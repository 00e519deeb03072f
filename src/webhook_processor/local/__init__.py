"""The local wing: everything that runs on one machine.

SQLite (``sqlite``: store, writer, pages, schema and migrations, outbox), the outbox
dispatcher and its sinks (``dispatcher``, ``sinks``), the counters, the data-directory lock
(``lock``), the local secrets, the HTTP server and the inspector, and the composition root
(``bootstrap``). It imports the core and never the AWS wing.
"""
