"""The client's errors: `CreditdError` and one subclass per `error.code`.

Catch a code's class (`except InsufficientCredits:`) or the base
(`except CreditdError as e: e.code, e.status, e.request_id`). The classes
are generated from the server's one list of codes
(crates/creditd-core/src/error.rs) into `_codes.py`.
"""

from ._codes import *  # noqa: F401,F403
from ._codes import ERRORS_BY_CODE, __all__ as _codes_all
from ._errors_base import CreditdConnectionError, CreditdError, UnexpectedResponse

__all__ = ["CreditdError", "CreditdConnectionError", "UnexpectedResponse", *_codes_all]

_ = ERRORS_BY_CODE
