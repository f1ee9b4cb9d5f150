"""How this system talks HTTP to the platforms it publishes to and measures: one client per platform
(:mod:`.accounts`), one error classification and client (:mod:`.api`), one ``Retry-After`` parser and
backoff policy (:mod:`.retry`) and one way to keep secrets out of messages and logs (:mod:`.redact`).
No Dagster imports: the resources in ``defs/platforms`` only fill these from env vars."""
