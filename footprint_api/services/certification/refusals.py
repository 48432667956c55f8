"""Refusals of the certification service, and their wording in the reader's language.

Every refusal carries a code of the message catalogue (`cert.error.*`) and its parameters besides the English
wording the JSON API answers with; `refusal_in` words it in a reader's language.
"""

from collections.abc import Mapping

from footprint_api.core.errors import Conflict, ServiceError
from footprint_api.core.messages import Catalogue
from label_service.workflow import IllegalTransition


def _refusal(kind: type[ServiceError], code: str, detail: str, field: str, **params: object) -> ServiceError:
    """A refusal naming one field: the English `detail` (the JSON API's words), its code and its parameters, on the
    whole and on the field."""
    entry = {"field": field, "reason": detail, "code": code, **({"params": params} if params else {})}
    return kind(detail, [entry], code=code, params=params)


def _coded(exc: ServiceError, code: str, **params: object) -> ServiceError:
    """Another service's refusal, given this part's code where it has none of its own (its English stays)."""
    if not exc.code:
        exc.code, exc.params = code, params
        exc.errors = [{**e, "code": code, "params": params} for e in exc.errors] or [
            {"field": "", "reason": exc.detail, "code": code, "params": params}
        ]
    return exc


def _illegal(exc: IllegalTransition, field: str = "action") -> ServiceError:
    """A step the workflow's tables do not allow now (409), with the table's reason as its code and parameters."""
    return _refusal(Conflict, exc.code, str(exc), field, **exc.params)


# parameters that are codes themselves: where the catalogue names them (a state by what it is the state of)
STATE_NAMES = {"application": "cert.state", "label": "cert.label_state", "finding": "cert.finding_state"}
WORDED = {"action": "cert.action", "party": "cert.party", "subject": "cert.thing"}


def _worded(t: Catalogue, name: str, value: object, params: Mapping) -> str:
    if isinstance(value, list | tuple):
        return ("、" if t.lang == "zh" else ", ").join(_worded(t, name, v, params) for v in value)
    if name in ("state", "allowed"):
        prefix = STATE_NAMES.get(str(params.get("subject", "application")), "cert.state")
    else:
        prefix = WORDED.get(name)
    if prefix is None:
        return str(value)
    return t.messages.get(f"{prefix}.{value}", str(value))


def reason_in(t: Catalogue, code: str, params: Mapping | None = None, english: str = "", status: int = 400) -> str:
    """A refusal in the reader's language: the message of its code filled with its parameters (those that are codes
    by their names). A refusal without a message in the catalogue is worded by its kind (its HTTP status), never
    in another language than the page's."""
    params = params or {}
    if code and code in t.messages:
        try:
            return t(code, **{name: _worded(t, name, value, params) for name, value in params.items()})
        except (KeyError, IndexError, ValueError):  # a message needing a parameter the refusal lacks
            pass
    if t.lang == "en" and english:
        return english
    return t.messages.get(f"cert.error.status.{status}", t("cert.error.status.other"))


def refusal_in(t: Catalogue, exc: ServiceError) -> str:
    """The refusal as a whole, in the reader's language."""
    return reason_in(t, exc.code, exc.params, exc.detail, exc.status)


def field_reasons_in(t: Catalogue, exc: ServiceError) -> dict[str, str]:
    """{field: reason in the reader's language} of a refusal (the first reason of a field that has several)."""
    reasons: dict[str, str] = {}
    for error in exc.errors or [{"field": "", "reason": exc.detail}]:
        reasons.setdefault(
            str(error.get("field", "")),
            reason_in(
                t,
                error.get("code") or exc.code,
                error.get("params", exc.params if not error.get("code") else None),
                str(error.get("reason", exc.detail)),
                exc.status,
            ),
        )
    return reasons
