"""Bring a LiteLLM proxy database over into Tollgate: read (reader), map each table (mappers), upsert (writer), report."""
