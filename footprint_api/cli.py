"""`pcf`: footprints from the command line. Bad input: a message naming the field, exit code 2."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from pcr_rules import InventoryInvalid, PCRNotFound, default_registry, validate_inventory
from pcr_rules.inventory import Inventory

app = typer.Typer(help="Product carbon footprints (GB/T 24067 / ISO 14067) on Brightway.", no_args_is_help=True)
pcr_app = typer.Typer(help="Product category rules.", no_args_is_help=True)
app.add_typer(pcr_app, name="pcr")

EXIT_INVALID = 2


def _fail(lines: list[str]) -> None:
    for line in lines:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(EXIT_INVALID)


def _pydantic_lines(error: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()]


@app.callback()
def main_options(
    pcrs: Annotated[
        str,
        typer.Option(
            "--pcrs",
            help="where PCR versions come from: database (the published versions of PCF_DATABASE_URL), files (the "
            "files shipped with the package) or auto (the database when it holds the registry, else the files)",
        ),
    ] = "auto",
) -> None:
    """Product carbon footprints (GB/T 24067 / ISO 14067) on Brightway."""
    from footprint_api.services.pcrs.source import DatabaseOrFiles, DatabaseSource
    from pcr_rules import registry

    if pcrs not in ("auto", "database", "files"):
        _fail([f"--pcrs: {pcrs!r} is not one of auto, database, files"])
    registry.install({"auto": DatabaseOrFiles(_note), "database": DatabaseSource(), "files": None}[pcrs])


def _note(message: str) -> None:
    typer.echo(f"note: {message}", err=True)


def _load_inventory(path: Path) -> Inventory:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail([f"{path}: no such file"])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _fail([f"{path}: not valid JSON ({exc})"])
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        _fail(_pydantic_lines(exc))


def _check(inventory: Inventory):
    try:
        pcr = default_registry().get(inventory.pcr.id, inventory.pcr.version)
        validate_inventory(inventory, pcr)
        return pcr
    except PCRNotFound as exc:
        _fail([f"pcr: {exc}"])
    except InventoryInvalid as exc:
        _fail([str(e) for e in exc.errors])


@app.command()
def validate(inventory_file: Path) -> None:
    """Check an inventory against its PCR without calculating."""
    inventory = _load_inventory(inventory_file)
    pcr = _check(inventory)
    typer.echo(f"ok: {inventory_file} satisfies {pcr.ref}")


@app.command()
def calculate(
    inventory_file: Path,
    format: Annotated[str, typer.Option("--format", "-f", help="json or table")] = "json",
    monte_carlo: Annotated[
        int, typer.Option("--monte-carlo", "-n", min=0, max=100_000, help="Monte Carlo iterations (0: none)")
    ] = 0,
    seed: Annotated[int | None, typer.Option(help="random seed of the Monte Carlo run")] = None,
) -> None:
    """Calculate the cradle-to-gate footprint per declared unit."""
    if format not in ("json", "table"):
        _fail([f"--format: {format!r} is not one of json, table"])
    inventory = _load_inventory(inventory_file)
    _check(inventory)
    from lca_models import get_engine
    from lca_models.factor_set import FactorSetError

    try:
        result = get_engine().calculate(inventory, monte_carlo_iterations=monte_carlo, seed=seed)
    except FactorSetError as exc:
        _fail([str(exc)])
    if format == "json":
        typer.echo(result.model_dump_json(indent=2))
    else:
        from footprint_api.exports.text import result_table

        typer.echo(result_table(result))


@app.command("export-brightway")
def export_brightway(
    inventory_file: Path,
    out: Annotated[Path, typer.Option(help="folder for the .bw2package file")] = Path("."),
) -> None:
    """Write the inventory's product system as a Brightway package (open it with bw2io.BW2Package.import_file)."""
    from lca_models import get_engine
    from lca_models.export import export_product_system

    inventory = _load_inventory(inventory_file)
    _check(inventory)
    path = export_product_system(get_engine(), inventory, out)
    typer.echo(
        f"written {path} (databases: the factor-set background and pcf-product-system; "
        "biosphere3 and IPCC 2021 come from bw2io)"
    )


@app.command()
def setup() -> None:
    """Build the Brightway project (biosphere3, IPCC 2021 methods, background) if it is not built yet."""
    from lca_models import get_engine

    engine = get_engine()
    typer.echo(
        f"ready: project {engine.background.project}, factor set {engine.factor_set.id} "
        f"{engine.factor_set.version}, {len(engine.factor_set.activities)} background activities, "
        f"data in {engine.settings.brightway_dir}"
    )


@app.command()
def migrate() -> None:
    """Bring the database (PCF_DATABASE_URL) to the latest schema; a deployment runs this once per release."""
    from footprint_api.core.settings import get_settings
    from footprint_api.persistence.migrate import upgrade

    upgrade()
    typer.echo(f"database at the latest schema: {get_settings().database_url.split('@')[-1]}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes")] = 1,
    demo: Annotated[bool, typer.Option(help="seed demo organisations, users and the example inventories")] = False,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="serve HTTPS with this certificate (PEM); default PCF_TLS_CERTFILE")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="its private key (PEM); default PCF_TLS_KEYFILE")] = None,
) -> None:
    """Migrate the database, optionally seed the demo, and serve the HTTP API."""
    import uvicorn

    from footprint_api.core.settings import get_settings
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.migrate import upgrade
    from lca_models import get_engine

    settings = get_settings()
    ssl_certfile, ssl_keyfile = ssl_certfile or settings.tls_certfile, ssl_keyfile or settings.tls_keyfile
    if bool(ssl_certfile) != bool(ssl_keyfile):
        _fail(
            [
                "a TLS certificate and its key go together (--ssl-certfile/--ssl-keyfile or PCF_TLS_CERTFILE/"
                "PCF_TLS_KEYFILE)"
            ]
        )
    tls = {"ssl_certfile": str(ssl_certfile), "ssl_keyfile": str(ssl_keyfile)} if ssl_certfile else {}
    scheme = "https" if tls else "http"
    settings = _public_base_url(settings, scheme, host, port)
    upgrade()
    from footprint_api.services.pcrs.source import install_database_source

    install_database_source()  # migrated: the demo and the server read the published PCR versions
    from footprint_api.services.benchmarks import backfill_all

    with session_scope() as session:  # labels issued before comparable groups existed get theirs
        backfill_all(session)
    if workers == 1:
        get_engine()  # build the Brightway project before the first request (workers are new processes: their own)
    if demo:
        from footprint_api.services.demo import label_urls, seed

        with session_scope() as session:
            credentials = seed(session)
            labels = label_urls(session)
        typer.echo("demo users (passwords are new at every start):")
        for email, password in credentials.items():
            typer.echo(f"  {email:<34} {password}")
        typer.echo(f"demo carbon labels (open {settings.base_url}/V/<number>):")
        for line in labels:
            typer.echo(f"  {line}")
    proxies = ", ".join(settings.trusted_proxies) or "none"
    typer.echo(
        f"database {settings.database_url} | tasks {settings.task_mode} | API docs {scheme}://{host}:{port}/docs | "
        f"proxy headers trusted from: {proxies}"
    )
    typer.echo(_engine_line())
    uvicorn.run(
        "footprint_api.app:app",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        **tls,
        **proxy_headers(settings),
    )


def proxy_headers(settings) -> dict:
    """uvicorn's options for X-Forwarded-For and X-Forwarded-Proto: believed only from PCF_TRUSTED_PROXIES, and
    not at all without one (uvicorn's own default would believe 127.0.0.1, and `*` anyone)."""
    trusted = settings.trusted_proxies
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": list(trusted) if trusted else None}


def _public_base_url(settings, scheme: str, host: str, port: int):
    """In the embedded mode, labels point to the address this server serves (`make run PORT=…`) unless
    PCF_PUBLIC_BASE_URL says otherwise; elsewhere a missing or local base URL is reported at once."""
    import os

    from footprint_api.core.settings import get_settings
    from label_service.public_url import BaseUrlRefused, check_base_url

    if settings.public_base_url is None and settings.environment == "dev":
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else (f"[{host}]" if ":" in host else host)
        os.environ["PCF_PUBLIC_BASE_URL"] = f"{scheme}://{shown}:{port}"
        get_settings.cache_clear()
        return get_settings()
    try:
        check_base_url(settings.public_base_url, settings.environment)
    except BaseUrlRefused as exc:
        typer.echo(f"warning: labels cannot be issued: {exc}", err=True)
    return settings


@app.command()
def verify(
    source: Annotated[
        str,
        typer.Argument(
            help="a photo or scan of the label or of its certificate (PNG/JPEG), or "
            "a code's text: the label's URL, the PCF1: code or the signed "
            "statement"
        ),
    ],
    keys: Annotated[Path | None, typer.Option(help="published key set (JWKS) for a check without network")] = None,
    service: Annotated[
        str | None,
        typer.Option(
            help="the service to ask for the status (default: the one the code's URL names; the PCF1: code names none)"
        ),
    ] = None,
    offline: Annotated[bool, typer.Option(help="only check the signature; do not ask the service")] = False,
) -> None:
    """Check a carbon label: its signature, then its status online. Exit 0 only if VALID (with --offline, or
    without a service to ask: if the signature is valid), 1 if the status is another, 2 on bad input or signature."""
    from label_service import scan
    from label_service.signing import SignatureInvalid

    if offline and keys is None:
        _fail(["--offline needs --keys (the service's /.well-known/pcf-label-keys.json, saved earlier)"])
    with scan.open_client() as client:
        try:
            found = scan.scanned(scan.texts_of(source))
            base = None if offline else service or found.service_base_url()
            result = scan.verify_label(
                found,
                scan.keys_from_jwks(keys.read_bytes()) if keys else None,
                scan.LabelService(base, client) if base else None,
            )
        except (scan.UnreadableCode, scan.ServiceUnavailable, SignatureInvalid, ValueError, OSError) as exc:
            _fail([str(exc)])
    if result.checked is not None:
        checked = result.checked
        typer.echo(
            f"signature: OK ({checked.signed_as}, Ed25519 key {checked.key_id} of {checked.claim['issuer']['name']})"
        )
        typer.echo(scan.summary(checked.claim))
    if result.status is None:
        typer.echo(
            "status: not asked (offline); revocation and suspension are only known online"
            if offline
            else "status: not asked: the status (suspension, revocation) needs the service; give --service URL"
        )
        return
    typer.echo(f"status: {result.status}")
    raise typer.Exit(0 if result.status == "VALID" else 1)


@app.command()
def example(
    name: Annotated[str | None, typer.Argument(help="e.g. cement-guizhou-2023; none: list them")] = None,
) -> None:
    """Print an example inventory (JSON) shipped with the package, or list them."""
    from pcr_rules import examples

    if name is None:
        for path in examples.paths():
            typer.echo(path.stem)
        return
    try:
        typer.echo(examples.path(name).read_text(encoding="utf-8"), nl=False)
    except FileNotFoundError as exc:
        _fail([str(exc)])


@pcr_app.command("list")
def pcr_list() -> None:
    """List the PCRs this service applies."""
    for pcr in default_registry().list():
        typer.echo(
            f"{pcr.id:<22} {pcr.version:<8} {pcr.declared_unit.amount:g} {pcr.declared_unit.unit:<4} {pcr.title}"
        )


@pcr_app.command("show")
def pcr_show(pcr_id: str, version: Annotated[str | None, typer.Option(help="default: latest")] = None) -> None:
    """Show one PCR in full (JSON)."""
    try:
        pcr = default_registry().get(pcr_id, version)
    except PCRNotFound as exc:
        _fail([str(exc)])
    typer.echo(pcr.model_dump_json(indent=2))


backgrounds_app = typer.Typer(
    help="Background databases (ecoinvent, CLCD, openLCA exports): import, versions, the one in use.",
    no_args_is_help=True,
)
app.add_typer(backgrounds_app, name="backgrounds")


def _background(session, name: str, version: str):
    from sqlmodel import select

    from footprint_api.persistence.models import BackgroundDatabase

    found = session.exec(
        select(BackgroundDatabase).where(BackgroundDatabase.name == name, BackgroundDatabase.version == version)
    ).first()
    if found is None:
        _fail([f"no background database {name} {version} (pcf backgrounds list)"])
    return found


def _service_errors(error) -> list[str]:
    lines = [f"{e.get('field', '')}: {e.get('reason', '')}" for e in getattr(error, "errors", [])]
    return [error.detail, *lines]


def _run_background(database_id, queue: bool) -> None:
    """The import in this process with its progress printed (or sent to the workers with --queue), then its end."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import BackgroundDatabase
    from footprint_api.services import backgrounds

    if queue:
        sent = backgrounds.dispatch(database_id)
        typer.echo(f"queued: {database_id}" + ("" if sent else " (broker down: the housekeeping task sends it)"))
        return
    shown = {"stage": None, "tenth": -1}

    def progress(stage: str, fraction: float) -> None:
        tenth = int(fraction * 20)
        if stage != shown["stage"] or tenth != shown["tenth"]:
            typer.echo(f"{fraction * 100:5.1f} %  {stage}", err=True)
            shown.update(stage=stage, tenth=tenth)

    state = backgrounds.run_import(database_id, progress)
    with session_scope() as session:
        row = session.get(BackgroundDatabase, database_id)
        _print_background(row)
        if state == "needs_attention":
            for group in row.problems.get("unlinked", []):
                where = "/".join(group.get("categories") or []) or group.get("location") or ""
                typer.echo(
                    f"  unlinked: {group['name']} [{where}] {group['unit']} {group['type']} x{group['count']} "
                    f"(e.g. {'; '.join(group['activities'])})"
                )
            typer.echo(
                f"nothing written: pcf backgrounds proceed {row.name} {row.version} drops the listed exchanges, "
                f"pcf backgrounds discard {row.name} {row.version} gives up"
            )
            raise typer.Exit(1)
        if state != "ready":
            raise typer.Exit(1)


def _print_background(row) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in (row.counts or {}).items())
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in (row.timings or {}).items())
    typer.echo(
        f"{row.name} {row.version} [{row.format}] {row.state}{' (in use)' if row.in_use else ''} id {row.id}"
        + (f"\n  counts: {counts}" if counts else "")
        + (f"\n  seconds: {timings}" if timings else "")
        + (f"\n  failure: {row.failure}" if row.failure else "")
        + (f"\n  dropped: {sum(g.get('count', 0) for g in row.dropped)} exchanges" if row.dropped else "")
    )


@backgrounds_app.command("import")
def backgrounds_import(
    path: Annotated[Path, typer.Argument(help="ecospold2 folder or zip, JSON-LD folder or zip, .xlsx or .csv")],
    format: Annotated[str, typer.Option("--format", help="ecospold2 | jsonld | excel | csv")],
    name: Annotated[str, typer.Option("--name", help="e.g. ecoinvent-3.10-cutoff")],
    version: Annotated[str, typer.Option("--version", help="e.g. 3.10")],
    queue: Annotated[bool, typer.Option(help="send it to the workers instead of running it here")] = False,
) -> None:
    """Import a licensed database from this server's disk (the same import as an upload, without its size limit),
    printing its progress; it stays in this deployment."""
    from footprint_api.core.errors import ServiceError
    from footprint_api.persistence.db import session_scope
    from footprint_api.services import backgrounds

    try:
        with session_scope() as session:
            row = backgrounds.import_path(session, None, path, name=name, version=version, format=format)
    except ServiceError as exc:
        _fail(_service_errors(exc))
    _run_background(row.id, queue)


@backgrounds_app.command("list")
def backgrounds_list() -> None:
    """Every version, newest first, with its state."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.services import backgrounds

    with session_scope() as session:
        for row in backgrounds.databases(session, None):
            _print_background(row)


def _decide(action: str, name: str, version: str) -> None:
    from footprint_api.core.errors import ServiceError
    from footprint_api.persistence.db import session_scope
    from footprint_api.services import backgrounds

    with session_scope() as session:
        row = _background(session, name, version)
        try:
            row = getattr(backgrounds, action)(session, None, row.id)
        except ServiceError as exc:
            _fail(_service_errors(exc))
        _print_background(row)
        database_id = row.id
    if action == "proceed":
        _run_background(database_id, queue=False)


@backgrounds_app.command("activate")
def backgrounds_activate(name: str, version: str) -> None:
    """Put a ready version in use (footprints take it from now on)."""
    _decide("activate", name, version)


@backgrounds_app.command("retire")
def backgrounds_retire(name: str, version: str) -> None:
    """Retire a ready version that is not in use."""
    _decide("retire", name, version)


@backgrounds_app.command("proceed")
def backgrounds_proceed(name: str, version: str) -> None:
    """Import a version that needs attention again, dropping exactly its listed unlinked exchanges."""
    _decide("proceed", name, version)


@backgrounds_app.command("discard")
def backgrounds_discard(name: str, version: str) -> None:
    """Give up a version that needs attention or failed."""
    _decide("discard", name, version)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


def _engine_line() -> str:
    """What the engine factorises with, said at start (a solver package installed beside it changes nothing unless
    PCF_SOLVER names it), and where the prepared background databases are read from."""
    from lca_models.backgrounds import solver_report
    from lca_models.config import LCASettings

    lca = LCASettings()
    report = solver_report(lca.solver)
    return f"engine solver: {report['solver']} ({report['orientation']}) | background databases: {lca.backgrounds_dir}"


if __name__ == "__main__":  # pragma: no cover - `python -m footprint_api.cli`
    main()
