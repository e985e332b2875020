"""creditd: the Python client of the creditd credit ledger.

    from creditd import Client
    with Client("http://127.0.0.1:8080", "cdk_…") as c:
        c.grant_credits("acme", kind="grant", amount="100")

See clients/python/README.md.
"""

from . import errors
from ._errors_base import CreditdConnectionError, CreditdError, UnexpectedResponse
from ._wire import new_idempotency_key
from .client import AsyncClient, Client, Export, __version__
from .errors import *  # noqa: F401,F403
from .generated import models
from .webhooks import WebhookVerificationError, sign, verify_webhook

__all__ = [
    "AsyncClient",
    "Client",
    "CreditdConnectionError",
    "CreditdError",
    "Export",
    "UnexpectedResponse",
    "WebhookVerificationError",
    "errors",
    "models",
    "new_idempotency_key",
    "sign",
    "verify_webhook",
    "__version__",
    *errors.__all__,
]
