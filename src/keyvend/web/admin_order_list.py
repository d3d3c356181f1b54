"""The admin orders list (`/admin/orders`): each order with its client and price, filtered by
status and searched by a client's email or by a customer's pasted key.

The search form is posted, so that a pasted key never lands in a URL, where browser history
and the access logs of proxies in front of Keyvend would keep it. An email search is sent on
to the list's address (`?q=`), so that it can be paged and bookmarked; a key search is
answered in place (it finds one order).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.order_states import OrderStatus
from keyvend.services import order, order_search
from keyvend.services.pagination import PageRequest
from keyvend.services.serviceapikey import MAX_KEY_TEXT
from keyvend.web.page import Ctx, page

PER_PAGE = 50
STATUS_CHOICES = [("", "Any status"), *[(s.value, s.value) for s in OrderStatus]]


@page("admin")
def order_list(ctx: Ctx) -> Response:
    """Orders, newest first, with their clients and prices; filtered by status and email."""
    search, status = ctx.query("q").strip(), ctx.query("status")
    return _list_page(ctx, search=search, status=status, number=ctx.page_number())


@page("admin")
def search_orders(ctx: Ctx) -> Response:
    """Search orders by the posted text: a pasted key is answered here, anything else is
    sent on to the list's address."""
    search = ctx.form.get("q", "")[:MAX_KEY_TEXT].strip()
    status = ctx.form.get("status", "")[:255]
    if order_search.looks_like_key(search):
        return _list_page(ctx, search=search, status=status, number=1, by_key=True)
    query = _query(search, status)
    return ctx.redirect("/admin/orders" + (f"?{query}" if query else ""))


def _list_page(
    ctx: Ctx, *, search: str, status: str, number: int, by_key: bool = False
) -> Response:
    result = order.get_list(
        ctx.db, page=PageRequest(number, PER_PAGE), search=search or None, status=status or None
    )
    return ctx.render(
        "admin/orders.html",
        title="Orders",
        result=result,
        clients=order_search.clients_of(ctx.db, result.list),
        search=search,
        by_key=by_key,
        status_filter=status,
        statuses=STATUS_CHOICES,
        pager_base=None if by_key else _pager_base(search, status),
    )


def _pager_base(search: str, status: str) -> str:
    """The list's address for its other pages, with the email search and status kept."""
    query = _query(search, status)
    return "/admin/orders?" + (query + "&" if query else "")


def _query(search: str, status: str) -> str:
    """The list's query string for an email search and a status filter (the empty ones out)."""
    return urlencode({name: value for name, value in (("q", search), ("status", status)) if value})


def routes() -> list[Route]:
    return [
        Route("/admin/orders", order_list, methods=["GET"]),
        Route("/admin/orders/search", search_orders, methods=["POST"]),
    ]
