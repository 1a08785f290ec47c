"""Twins of the search providers' APIs, one module each: each checks what the gateway sent (method, path, key
header, parameters) and answers in that provider's real wire format, with results made from the query."""
