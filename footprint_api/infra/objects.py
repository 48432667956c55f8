"""The object store of label files chosen by the settings: a local folder (embedded) or S3/MinIO (production)."""

from functools import lru_cache

from footprint_api.core.settings import get_settings
from label_service.storage import LocalObjectStore, ObjectStore, S3ObjectStore


@lru_cache(maxsize=1)
def object_store() -> ObjectStore:
    settings = get_settings()
    if settings.storage_backend == "local":
        return LocalObjectStore(settings.storage_dir)
    if not (settings.s3_access_key and settings.s3_secret_key):
        raise RuntimeError("PCF_STORAGE_BACKEND=s3 needs PCF_S3_ACCESS_KEY and PCF_S3_SECRET_KEY")
    store = S3ObjectStore(
        settings.s3_endpoint,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.bucket,
        secure=settings.s3_secure,
        region=settings.s3_region,
    )
    store.ensure_bucket()
    return store
