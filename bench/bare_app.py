"""The yardstick: a bare Starlette endpoint that returns the same envelope as a check."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def bare(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"result": True, "error": None})


app = Starlette(routes=[Route("/api/guest/serviceapikey/check", bare, methods=["GET", "POST"])])
