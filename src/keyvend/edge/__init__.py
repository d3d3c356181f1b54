"""What the HTTP API and the pages share: the client's address, rate limits, cookies, CSRF.

`api/` and `web/` both import these from here rather than from each other; the pages only
read the API's endpoint registry, for the rate limits of the call a page stands in for.
"""
