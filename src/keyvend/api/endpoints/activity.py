"""activity: the activity log, every change of state with who made it (admin)."""

from __future__ import annotations

from keyvend.api.endpoints.fields import Id, ListParams, Short
from keyvend.api.registry import Call, endpoint
from keyvend.schemas.activity import ActivityFilter, EventPublic, Moment
from keyvend.schemas.common import Page
from keyvend.services import activity


class ActivityListParams(ListParams):
    type: Short | None = None
    actor: Short | None = None
    client_id: Id | None = None
    order_id: Id | None = None
    invoice_id: Id | None = None
    since: Moment | None = None
    until: Moment | None = None


@endpoint("admin", "activity", "get_list", ActivityListParams)
def get_list(call: Call, p: ActivityListParams) -> Page[EventPublic]:
    """Events, newest first; filtered by type (exact, or a prefix such as `order.`), actor,
    client, order, invoice and time (`since` inclusive, `until` exclusive)."""
    filters = ActivityFilter.model_validate(p.model_dump(exclude={"page", "per_page"}))
    return activity.get_list(call.db, filters=filters, page=p.page_spec())
