"""Management API views at LiteLLM's paths, one module per entity (see base.py for the three view shapes)."""
