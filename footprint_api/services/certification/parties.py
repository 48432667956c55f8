"""The two parties of an application: which side the caller is on, and which applications each may see
(anyone else learns nothing: 404)."""

import uuid

from sqlmodel import Session

from footprint_api.core.errors import NotFound
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application
from footprint_api.services.principals import CB_ROLES, MANUFACTURER_ROLES
from label_service.workflow import ApplicationState, Party


def _party(principal: Principal, application: Application) -> Party:
    """Which side the caller is on; anyone else learns nothing (404)."""
    if principal.organisation_id == application.organisation_id and principal.role in MANUFACTURER_ROLES:
        return Party.MANUFACTURER
    if principal.organisation_id == application.certification_body_id and principal.role in CB_ROLES:
        return Party.CERTIFICATION_BODY
    raise NotFound("no such application visible to you")


def visible(session: Session, principal: Principal, application_id: uuid.UUID) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("no such application visible to you")
    _party(principal, application)
    if principal.role in CB_ROLES and application.state == ApplicationState.DRAFT:
        raise NotFound("no such application visible to you")  # a draft is the manufacturer's own
    return application


def _mine(principal: Principal):
    """The condition of the caller's applications: a manufacturer's own, or those submitted to the caller's body."""
    if principal.role in CB_ROLES:
        return (
            Application.certification_body_id == principal.organisation_id,
            Application.state != ApplicationState.DRAFT.value,
        )
    return (Application.organisation_id == principal.organisation_id,)
