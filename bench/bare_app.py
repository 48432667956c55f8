"""The ceiling for the verification benchmark: FastAPI endpoints that do nothing, served the same way."""

from fastapi import FastAPI
from fastapi.responses import Response

app = FastAPI()


@app.get("/sync")
def ping_sync() -> dict:
    return {"status": "ok"}


@app.get("/async")
async def ping_async() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")
