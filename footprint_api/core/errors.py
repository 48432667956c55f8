"""Error types of the service, raised by every layer; `footprint_api.problems` renders them once, as RFC 9457
problem responses (application/problem+json) for machines and as pages for people."""


class ServiceError(Exception):
    """`detail` and each error's `reason` are the English wording (the JSON API answers with them); `code` and
    `params` name the message and its values, so that a page words the refusal in its reader's language (the
    catalogue's message `code`, filled with `params`). An entry of `errors` may carry its own `code` and `params`."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: list[dict] | None = None, code: str = "", params: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.code = code
        self.params = params or {}


class BadRequest(ServiceError):
    status, title = 400, "Bad request"


class NotFound(ServiceError):
    status, title = 404, "Not found"


class Forbidden(ServiceError):
    status, title = 403, "Forbidden"


class Unauthorized(ServiceError):
    status, title = 401, "Unauthorized"


class Conflict(ServiceError):
    status, title = 409, "Conflict"


class Unprocessable(ServiceError):
    status, title = 422, "Unprocessable content"


class PayloadTooLarge(ServiceError):
    status, title = 413, "Content too large"


class PCRNotInForce(Unprocessable):
    """A PCR version that does not apply here: not in force for the reference period, expired or withdrawn (an
    Unprocessable, so a form that shows those beside its fields shows this one too)."""

    title = "PCR not in force"
