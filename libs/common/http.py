"""/healthz, /readyz and /metrics for every service, and an in-process uvicorn server."""
from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable, Mapping

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from switchboard.common.health import CachedReadiness
from switchboard.common.settings import HttpSettings

# Service.check_readiness (live, async) or any callable returning {check: ok}; answers are cached.
Readiness = Callable[[], Mapping[str, bool] | Awaitable[Mapping[str, bool]]]


def add_ops_routes(app: FastAPI, readiness: Readiness) -> FastAPI:
    cached = CachedReadiness(readiness)

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process and its event loop answer")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Readiness: store, broker and consumer group answer now",
             description="Each check is bounded (1 s) and the answer is cached for 1 s. 503 while the store "
                         "does not answer a ping, the broker does not answer a metadata request, or a consumer "
                         "is out of its group (see docs/operations.md).",
             responses={503: {"description": "Not ready; the body names the failing checks"}})
    async def readyz(response: Response) -> dict[str, object]:
        checks = await cached.get()
        ready = all(checks.values())
        response.status_code = 200 if ready else 503
        return {"status": "ready" if ready else "not ready", "checks": checks}

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def ops_app(service: str, readiness: Readiness) -> FastAPI:
    return add_ops_routes(FastAPI(title=f"switchboard-{service}", docs_url=None, redoc_url=None), readiness)


class PortInUseError(RuntimeError):
    pass


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(f"port {port} on {host} is already in use; free it or choose another "
                                     f"with SWITCHBOARD_HTTP__PORT") from None
            raise


class HttpServer:
    """uvicorn in the service's own event loop; lifespan is ours, not uvicorn's."""

    def __init__(self, app: FastAPI, settings: HttpSettings) -> None:
        self._settings = settings
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                                lifespan="off", timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # Service owns SIGTERM/SIGINT
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        check_port_free(self._settings.host, self._settings.port)
        self.task = asyncio.create_task(self._server.serve(), name="http")
        while not self._server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("HTTP server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self.task is not None:
            await self.task
