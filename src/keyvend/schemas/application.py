"""Applications: the programs that check keys (DESIGN.md section 11)."""

from __future__ import annotations

from keyvend.schemas.common import Schema, Timestamp


class ApplicationPublic(Schema):
    """An application as the admin sees it: never its token, only the token's start."""

    id: int
    name: str
    token_hint: str
    created_at: Timestamp
    updated_at: Timestamp


class ApplicationToken(Schema):
    """An application's new token, shown once."""

    id: int
    token: str
