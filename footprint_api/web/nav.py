"""The navigation of the web application: which sections each role sees (data, not template logic), and the
signed-in person's inbox with its unread count."""

import logging

from sqlalchemy.exc import SQLAlchemyError

from footprint_api.persistence.db import outage, reads_only, session_scope, unavailable
from footprint_api.persistence.models import Role
from footprint_api.services import notices

log = logging.getLogger(__name__)

M, MA, V, CA, P = (Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN, Role.VERIFIER, Role.CB_ADMIN, Role.PLATFORM_ADMIN)
PA, PC = Role.PCR_AUTHOR, Role.PCR_CHAIR
MANUFACTURERS, BODIES, ADMINS, STANDARDS = (M, MA), (V, CA), (MA, CA, Role.PROCUREMENT_ADMIN, P), (PA, PC)
INBOX = "/app/notices"
MAX_SHOWN_COUNT = 99  # more unread notices show as "99+"

# (message key, path, roles that see it); the public sections are for everyone, signed in or not
SECTIONS = (
    ("nav.dashboard", "/app/dashboard", (M, MA)),
    ("nav.products", "/app/products", (M, MA)),
    ("nav.inventories", "/app/inventories", (M, MA)),
    ("nav.footprints", "/app/footprints", (M, MA)),
    ("nav.applications", "/app/applications", (M, MA)),
    ("nav.suppliers", "/app/suppliers", (M, MA)),
    ("nav.queue", "/app/review", (V, CA)),
    ("nav.labels", "/app/labels", (V, CA)),
    ("nav.procurement", "/app/procurement", (Role.PROCUREMENT_OFFICER, Role.PROCUREMENT_ADMIN)),
    ("nav.admin", "/app/admin", ADMINS),
    ("bg.nav", "/app/admin/backgrounds", (P,)),
    ("pcrl.nav.mine", "/app/pcr-authoring", STANDARDS),
    ("nav.notices", INBOX, tuple(Role)),
    ("nav.registry", "/registry", None),
    ("nav.batch", "/batch", None),
    ("pcrl.nav.library", "/pcrs", None),
    ("nav.benchmarks", "/benchmarks", None),
    ("nav.factors", "/factors", None),
)


def items(user, path: str) -> list[dict]:
    """The sections of this person (or of a visitor), the current one marked."""
    role = user.role if user else None
    shown = [(key, href) for key, href, roles in SECTIONS if roles is None or (role is not None and role in roles)]
    current = max(
        (href for _, href in shown if path == href or path.startswith(href.rstrip("/") + "/")), key=len, default=None
    )
    return [
        {"key": key, "href": href, "current": href == current, **(_inbox(user) if href == INBOX else {})}
        for key, href in shown
    ]


def _inbox(user) -> dict:
    """The unread count beside the inbox link: read in a transaction of its own that only reads (it never waits for,
    nor blocks, the page's writer); a page is never refused for it (no count shown when the database fails)."""
    try:
        with reads_only(), session_scope() as session:
            count = notices.unread_count(session, user.user.id, user.organisation.id)
    except SQLAlchemyError as exc:
        if unavailable(exc):  # one line per outage (persistence.db.outage), not a stack trace per page
            outage.failed(exc, answered=False)
        else:
            log.warning("the unread count of the navigation could not be read", exc_info=True)
        return {"count": 0, "count_text": ""}
    return {"count": count, "count_text": f"{MAX_SHOWN_COUNT}+" if count > MAX_SHOWN_COUNT else str(count)}
