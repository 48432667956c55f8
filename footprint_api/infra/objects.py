"""The object store of label files chosen by the settings: a local folder (embedded) or S3/MinIO (production)."""

from functools import lru_cache

from footprint_api.core.settings import get_settings
from label_service.storage import LocalObjectStore, ObjectStore, S3ObjectStore


@lru_cache(maxsize=1)
def object_store() -> ObjectStore:
    """One store per process (it remembers that the store just ran out of time). Making it calls nothing: a store
    down or frozen at start-up must not fail or hold every request that asks for it; the bucket is created by the
    first write or readiness probe that finds it missing."""
    settings = get_settings()
    if settings.storage_backend == "local":
        return LocalObjectStore(settings.storage_dir)
    if not (settings.s3_access_key and settings.s3_secret_key):
        raise RuntimeError("PCF_STORAGE_BACKEND=s3 needs PCF_S3_ACCESS_KEY and PCF_S3_SECRET_KEY")
    return S3ObjectStore(
        settings.s3_endpoint,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.bucket,
        secure=settings.s3_secure,
        region=settings.s3_region,
        deadline_seconds=settings.s3_deadline_seconds,
    )
