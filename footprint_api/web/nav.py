"""The navigation of the web application: which sections each role sees (data, not template logic)."""

from footprint_api.persistence.models import Role

M, MA, V, CA, P = (Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN, Role.VERIFIER, Role.CB_ADMIN, Role.PLATFORM_ADMIN)
PA, PC = Role.PCR_AUTHOR, Role.PCR_CHAIR
MANUFACTURERS, BODIES, ADMINS, STANDARDS = (M, MA), (V, CA), (MA, CA, P), (PA, PC)

# (message key, path, roles that see it); the public sections are for everyone, signed in or not
SECTIONS = (
    ("nav.dashboard", "/app/dashboard", (M, MA)),
    ("nav.products", "/app/products", (M, MA)),
    ("nav.inventories", "/app/inventories", (M, MA)),
    ("nav.footprints", "/app/footprints", (M, MA)),
    ("nav.applications", "/app/applications", (M, MA)),
    ("nav.queue", "/app/review", (V, CA)),
    ("nav.labels", "/app/labels", (V, CA)),
    ("nav.admin", "/app/admin", ADMINS),
    ("pcrl.nav.mine", "/app/pcr-authoring", STANDARDS),
    ("nav.registry", "/registry", None),
    ("nav.batch", "/batch", None),
    ("pcrl.nav.library", "/pcrs", None),
)


def items(user, path: str) -> list[dict]:
    """The sections of this person (or of a visitor), the current one marked."""
    role = user.role if user else None
    shown = [(key, href) for key, href, roles in SECTIONS if roles is None or (role is not None and role in roles)]
    current = max(
        (href for _, href in shown if path == href or path.startswith(href.rstrip("/") + "/")), key=len, default=None
    )
    return [{"key": key, "href": href, "current": href == current} for key, href in shown]
