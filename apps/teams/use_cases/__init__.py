"""The management API's use cases: scope and role checks, then services or selectors, then LiteLLM's JSON answer.

Views parse bodies into validated dicts and call exactly one function here, always as
`<entity>_<action>(*, caller=..., body=...)`. What the caller may not see answers as not existing.
"""
