"""Web pages with a realistic amount of data: the manufacturer's dashboard, a footprint page and the public registry,
with 1,000 footprints and 1,000 labels in the database.

One uvicorn process (embedded SQLite), requests from a second process over loopback, one client at a time (a page
is read by a person, not a crowd): median and p95 of request to complete response.
"""

import copy
import re
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stats import summary  # noqa: E402  (after the path: runs as a script too)

FOOTPRINTS = 1000
REQUESTS = 200
PASSWORD = "correct horse battery staple"


def seed_many(template_label_number: str, count: int) -> str:
    """`count` more products, each with an inventory, a finished job, a footprint, an application and an issued
    label, copied from one real calculated and certified footprint (written directly: seeding is not measured)."""
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Application, Footprint, InventoryRecord, Job, JobStatus, Label, Product
    from label_service.numbering import label_number

    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == template_label_number)).one()
        footprint = session.get(Footprint, label.footprint_id)
        record = session.get(InventoryRecord, footprint.inventory_id)
        application = session.get(Application, label.application_id)
        rows: list[list] = [[], [], [], [], [], []]  # products, inventories, jobs, footprints, applications, labels
        for n in range(count):
            product = Product(
                organisation_id=record.organisation_id, name=f"Cement batch product {n:04d}", pcr_id=record.pcr_id
            )
            inventory = InventoryRecord(
                organisation_id=record.organisation_id,
                product_id=product.id,
                version=1,
                pcr_id=record.pcr_id,
                pcr_version=record.pcr_version,
                data=copy.deepcopy(record.data),
            )
            job = Job(
                organisation_id=record.organisation_id,
                inventory_id=inventory.id,
                status=JobStatus.SUCCEEDED,
                progress=1.0,
            )
            total = footprint.total_kg_co2e * (0.8 + 0.4 * n / count)
            copy_of = Footprint(
                organisation_id=record.organisation_id,
                inventory_id=inventory.id,
                job_id=job.id,
                pcr_id=footprint.pcr_id,
                pcr_version=footprint.pcr_version,
                factor_set=footprint.factor_set,
                total_kg_co2e=total,
                declared_unit=footprint.declared_unit,
                result=copy.deepcopy(footprint.result),
            )
            applied = Application(
                organisation_id=application.organisation_id,
                certification_body_id=application.certification_body_id,
                footprint_id=copy_of.id,
                product_id=product.id,
                state="label_issued",
            )
            sequence = 100_000 + n
            issued = Label(
                number=label_number(label.year, sequence),
                year=label.year,
                sequence=sequence,
                application_id=applied.id,
                footprint_id=copy_of.id,
                organisation_id=label.organisation_id,
                issuer_id=label.issuer_id,
                pcr_id=label.pcr_id,
                pcr_version=label.pcr_version,
                product_name=product.name,
                manufacturer_name=label.manufacturer_name,
                value=f"{total:.4g}",
                total_kg_co2e=total,
                declared_unit=label.declared_unit,
                issued_on=label.issued_on,
                expires_on=label.issued_on + timedelta(days=1000),
                key_id=label.key_id,
                token=label.token,
                qr_content=label.qr_content,
                files=label.files,
                product_id=product.id,
            )
            for kind, row in enumerate((product, inventory, job, copy_of, applied, issued)):
                rows[kind].append(row)
        for kind in rows:  # parents before children: the foreign keys are checked per statement
            session.add_all(kind)
            session.flush()
        session.commit()
        return str(footprint.id)


def signed_in(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, headers={"Accept": "text/html", "Accept-Language": "zh-CN"})
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/app", "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return client


def timed(client: httpx.Client, path: str) -> tuple[dict, int]:
    client.get(path)  # warm
    samples, size = [], 0
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        size = len(response.content)
    return summary(samples), size


def main() -> None:
    from bench.embedded import embedded_service
    from tests.labelling import issued_label

    with embedded_service("pcf-bench-pages-") as (base, world, _scratch):
        label = issued_label(world)
        footprint_id = seed_many(label["number"], FOOTPRINTS - 1)
        engineer = signed_in(base, "acme-engineer@test.example")
        visitor = httpx.Client(base_url=base, timeout=60, headers={"Accept": "text/html"})
        print(
            f"web pages with {FOOTPRINTS} footprints and {FOOTPRINTS} labels (SQLite, one uvicorn worker), "
            f"{REQUESTS} sequential requests each"
        )
        for name, client, path in (
            ("dashboard (manufacturer)", engineer, "/app/dashboard"),
            ("footprint page", engineer, f"/app/footprints/{footprint_id}"),
            ("registry, first page (public)", visitor, "/registry"),
            ("registry, cement, value range", visitor, "/registry?pcr_id=PCR-CN-CEMENT&min_kg_co2e=700"),
            ("verification page", visitor, f"/V/{label['number']}"),
        ):
            stats, size = timed(client, path)
            print(
                f"  {name:<34} median {stats['median_ms']:7.1f} ms   p95 {stats['p95_ms']:7.1f} ms   "
                f"{size / 1024:6.0f} KiB"
            )


if __name__ == "__main__":
    main()
