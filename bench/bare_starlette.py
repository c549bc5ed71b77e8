"""The baseline: a bare Starlette app with the same two routes and no database, logging or middleware."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(_request):
    return JSONResponse({"status": "healthy", "version": "baseline", "deployment_id": None})


async def ready(_request):
    return JSONResponse({"status": "ready", "version": "baseline"})


app = Starlette(routes=[Route("/health", health), Route("/ready", ready)])
