"""Label files in a real S3-compatible server (moto's, standing in for MinIO), and a failed upload."""

import hashlib
import socket
import uuid

import pytest
from sqlmodel import select

from label_service.storage import S3ObjectStore, StorageError
from tests.labelling import act, calculated_footprint, issued_label


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = S3ObjectStore(
        s3_endpoint, "testing", "testing", f"pcf-labels-test-{uuid.uuid4().hex[:8]}", secure=False, region="us-east-1"
    )
    store.ensure_bucket()
    return store


def test_objects_are_content_addressed_and_checked(s3_store):
    data = b"<svg>label</svg>"
    stored = s3_store.put(data, "svg")
    digest = hashlib.sha256(data).hexdigest()
    assert stored.key == f"labels/{digest}.svg" and stored.sha256 == digest and stored.size == len(data)
    assert s3_store.get(stored.key) == data
    assert s3_store.put(data, "svg").key == stored.key  # same bytes, same name
    s3_store.delete(stored.key)
    with pytest.raises(StorageError):
        s3_store.get(stored.key)


def test_a_tampered_object_is_refused(s3_store):
    stored = s3_store.put(b"%PDF-1.4 original", "pdf")
    s3_store.client.put_object(s3_store.bucket, stored.key, __import__("io").BytesIO(b"%PDF-1.4 forged"), 15)
    with pytest.raises(StorageError, match="checksum"):
        s3_store.get(stored.key)


def test_labels_are_issued_into_the_bucket(world, s3_endpoint, monkeypatch):
    bucket = use_s3(monkeypatch, s3_endpoint)
    try:
        label = approved_and_issued(world)
        assert label.status_code == 200, label.text
        issued = latest_label(world)
        store = S3ObjectStore(s3_endpoint, "testing", "testing", bucket, secure=False, region="us-east-1")
        for stored in issued["files"].values():
            assert hashlib.sha256(store.get(stored["key"])).hexdigest() == stored["sha256"]
        assert world.client.get(f"/labels/{issued['number']}.png").status_code == 200
    finally:
        reset_storage(monkeypatch)


def test_a_failed_upload_leaves_no_half_issued_label(world, s3_endpoint, monkeypatch):
    """The third file (pdf) fails to upload: no label row, the first two files are removed, the application
    stays approved and can be issued once storage works again."""
    bucket = use_s3(monkeypatch, s3_endpoint)
    from footprint_api.infra.objects import object_store

    real_put, calls = S3ObjectStore.put, []

    def flaky_put(self, data, extension):
        calls.append(extension)
        if extension == "pdf":
            raise StorageError("upload of the pdf failed: connection reset")
        return real_put(self, data, extension)

    try:
        monkeypatch.setattr(S3ObjectStore, "put", flaky_put)
        labels_before = count_labels()
        response = approved_and_issued(world)
        assert response.status_code == 503 and "nothing was issued" in response.json()["detail"]
        assert calls == ["svg", "png", "pdf"] and count_labels() == labels_before
        store = object_store()
        assert list(store.client.list_objects(bucket, prefix="labels/", recursive=True)) == []
        application = response.request.url.path.split("/")[4]
        assert world.call("cb-verifier", "GET", f"/api/v1/applications/{application}").json()["state"] == "approved"

        monkeypatch.setattr(S3ObjectStore, "put", real_put)
        again = act(world, "cb-verifier", application, "issue_label")
        assert again.status_code == 200 and again.json()["state"] == "label_issued"
    finally:
        reset_storage(monkeypatch)


def use_s3(monkeypatch, endpoint: str) -> str:
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.objects import object_store

    bucket = f"pcf-labels-test-{uuid.uuid4().hex[:8]}"
    for name, value in {
        "PCF_STORAGE_BACKEND": "s3",
        "PCF_S3_ENDPOINT": endpoint,
        "PCF_S3_ACCESS_KEY": "testing",
        "PCF_S3_SECRET_KEY": "testing",
        "PCF_S3_SECURE": "false",
        "PCF_S3_REGION": "us-east-1",
        "PCF_S3_BUCKET": bucket,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    object_store.cache_clear()
    return bucket


def reset_storage(monkeypatch) -> None:
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.objects import object_store

    monkeypatch.undo()
    get_settings.cache_clear()
    object_store.cache_clear()


def approved_and_issued(world):
    footprint = calculated_footprint(world, gtin=None)
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review"), ("cb-verifier", "approve")):
        assert act(world, user, application["id"], action).status_code == 200
    return act(world, "cb-verifier", application["id"], "issue_label")


def latest_label(world) -> dict:
    return max(world.call("cb-verifier", "GET", "/api/v1/labels").json(), key=lambda label: label["number"])


def count_labels() -> int:
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Label

    with session_scope() as session:
        return len(session.exec(select(Label.id)).all())


def test_with_the_object_store_down_issuing_and_reading_answer_503_within_seconds(world, s3_endpoint, monkeypatch):
    """Nothing listens on the S3 port: a label is not issued (503, the application stays approved), a label file
    answers 503, both within a few seconds, and readiness says the storage is unavailable."""
    import time

    from tests.processes import free_port

    existing = issued_label(world, gtin=None)["number"]  # its files are in the local store of the test world
    use_s3(monkeypatch, f"127.0.0.1:{free_port()}")
    try:
        labels_before = count_labels()
        started = time.monotonic()
        response = approved_and_issued(world)
        assert response.status_code == 503 and response.headers["retry-after"]
        assert count_labels() == labels_before
        file = world.client.get(f"/labels/{existing}.png")
        assert file.status_code == 503
        ready = world.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["storage"].startswith("unavailable")
        assert ready.json()["checks"]["database"] == "ok"
        assert time.monotonic() - started < 20
    finally:
        reset_storage(monkeypatch)
    assert world.client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok", "storage": "ok"}}
