"""What the HTTP API and the pages share: the client's address, rate limits, cookies, CSRF.

`api/` and `web/` both import from here, and neither imports the other for these.
"""
