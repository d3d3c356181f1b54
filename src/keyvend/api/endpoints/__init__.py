"""One file per FOSSBilling module; importing this package registers every endpoint."""

from keyvend.api.endpoints import (  # noqa: F401
    activity,
    application,
    cart,
    client,
    email,
    extension,
    invoice,
    order,
    product,
    serviceapikey,
    staff,
    system,
    webhook,
)
