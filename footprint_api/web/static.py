"""The web pages' own files (style sheets, icons, the API docs' vendored scripts), served under /static/.

A page links a file as `static_url(name)`: `/static/name?v=<digest of its content>`. Such a URL never changes
content, so browsers may keep it for a year without asking again; a new release changes the digest of what changed.
"""

import hashlib
import os
from functools import cache
from pathlib import Path

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # an unversioned URL: kept, but asked again (ETag) before each use


@cache
def fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"{PREFIX}/{name}?v={fingerprint(name)}"


class VersionedStaticFiles(StaticFiles):
    """Static files with the cache lifetime their URL allows."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC)

    def file_response(
        self, full_path: os.PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        name = Path(full_path).relative_to(STATIC).as_posix()
        asked = QueryParams(scope.get("query_string", b"")).get("v")
        response.headers["Cache-Control"] = IMMUTABLE if asked == fingerprint(name) else REVALIDATE
        return response
