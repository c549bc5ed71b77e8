"""The baseline: a bare Starlette app answering what the service answers, with nothing else.

No middleware, no logging, no validation. Its `/ready` runs `SELECT 1` on the service's database, through
the same driver (SQLAlchemy + psycopg 3, or sqlite3), on every request; its `/items` does the same
INSERT ... RETURNING and SELECT by primary key as the service, on the same table. Response bodies are the
service's, byte for byte (the benchmark checks that before it measures anything).
"""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import insert, select, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.db import create_db_engine
from service.models import Item
from service.settings import Settings

settings = Settings(database_url=os.environ["DATABASE_URL"], app_version=os.environ.get("APP_VERSION", "dev"))
engine = create_db_engine(settings)  # the service's pool and driver settings
items = Item.__table__
columns = [items.c.id, items.c.sku, items.c.name, items.c.description, items.c.quantity]
columns += [items.c.created_at, items.c.updated_at]


def _item(row) -> dict:
    item = dict(row._mapping)
    for key in ("created_at", "updated_at"):
        value: datetime = item[key]
        item[key] = value.isoformat().replace("+00:00", "Z")
    return item


async def health(_request: Request) -> Response:
    return JSONResponse({"status": "healthy", "version": settings.app_version, "deployment_id": settings.deployment_id})


def _select_one() -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1")).scalar_one()


async def ready(_request: Request) -> Response:
    await run_in_threadpool(_select_one)
    return JSONResponse({"status": "ready", "version": settings.app_version})


def _create(body: dict) -> dict:
    with engine.begin() as connection:
        return _item(connection.execute(insert(items).values(**body).returning(*columns)).one())


def _read(item_id: int) -> dict | None:
    with engine.connect() as connection:
        row = connection.execute(select(*columns).where(items.c.id == item_id)).one_or_none()
    return _item(row) if row else None


async def create_item(request: Request) -> Response:
    body = await request.json()
    item = await run_in_threadpool(_create, body)
    response = JSONResponse(item, 201)
    response.headers["location"] = f"/items/{item['id']}"
    return response


async def read_item(request: Request) -> Response:
    item = await run_in_threadpool(_read, int(request.path_params["item_id"]))
    if item is None:
        return JSONResponse({"detail": f"item {request.path_params['item_id']} not found"}, 404)
    return JSONResponse(item)


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/ready", ready),
        Route("/items", create_item, methods=["POST"]),
        Route("/items/{item_id:int}", read_item),
    ]
)
