"""Web search providers behind LiteLLM's Search API (Perplexity's request and answer shape), one module each.

`registry.SEARCH_PROVIDERS` maps a `search_provider` name (as config.yaml's `search_tools` write it) to its
provider; `send.send_search` makes one call through the transport.
"""
