"""The project's socket contract: its AsyncAPI document, and a view that serves it.

::

    # urls.py
    from wsroute_django.contract import AsyncAPIView

    urlpatterns = [path("asyncapi.json", AsyncAPIView.as_view(title="Chat API"))]

The document is built from the consumers ``settings.ASGI_APPLICATION`` routes WebSockets
to (``manage.py wsroute_asyncapi`` writes the same one to a file).
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import View

from wsroute.asyncapi import Endpoint, build_document
from wsroute.json_schemas import Problem
from wsroute_django.consumer import SocketConsumer
from wsroute_django.introspect import Found, walk

__all__ = ["AsyncAPIView", "ContractError", "endpoints", "project_document", "render_json"]


class ContractError(Exception):
    """The document could not be built; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


def endpoints(application: Any) -> tuple[list[Endpoint], list[Problem]]:
    """The wsroute endpoints ``application`` reaches, and what could not be looked into."""
    walked = walk(application)
    problems = list(walked.problems)
    result: list[Endpoint] = []
    ids: set[str] = set()
    for found in walked.found:
        if not issubclass(found.consumer, SocketConsumer):
            problems.append(
                Problem(
                    f"URL pattern {found.route!r}",
                    f"{_dotted(found.consumer)} is not a wsroute consumer; its messages are not described",
                    fatal=False,
                )
            )
            continue
        result.append(_endpoint(found, _unique_id(found, ids)))
    return result, problems


def project_document(
    application: Any = None, *, title: str = "WebSocket API", version: str = "1.0.0", description: str | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """The AsyncAPI 3.0 document of ``application`` (default: ``ASGI_APPLICATION``), and its problems."""
    if application is None:
        from channels.routing import get_default_application

        application = get_default_application()
    found, problems = endpoints(application)
    document, schema_problems = build_document(found, title=title, version=version, description=description)
    return document, problems + schema_problems


def render_json(document: dict[str, Any]) -> str:
    """The document as the command writes it: two-space indents, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class AsyncAPIView(View):
    """Serves the project's AsyncAPI document as JSON, built on the first request.

    ``AsyncAPIView.as_view(title=..., version=..., description=...)``. A document that cannot
    be built is a server error whose exception names every problem.
    """

    title = "WebSocket API"
    version = "1.0.0"
    description: str | None = None

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(_served(self.title, self.version, self.description), content_type="application/json")


@functools.cache
def _served(title: str, version: str, description: str | None) -> str:
    document, problems = project_document(title=title, version=version, description=description)
    fatal = [problem for problem in problems if problem.fatal]
    if fatal:
        raise ContractError(fatal)
    return render_json(document)


def _endpoint(found: Found, channel_id: str) -> Endpoint:
    consumer: type[SocketConsumer] = found.consumer
    lines = [f"Consumer `{_dotted(consumer)}`, URL pattern `{found.route}`."]
    lines.append(
        f"Client frames are JSON objects in text frames, routed on their `{consumer.type_key}` member; "
        "a `ref` in a frame comes back on its reply and errors."
    )
    if consumer.login_required:
        lines.append("Anonymous sockets are closed with 4401 (login required).")
    doc = inspect.cleandoc(vars(consumer).get("__doc__") or "")
    if doc:
        lines.append(doc)
    return Endpoint(
        id=channel_id,
        address=found.address,
        parameters=found.parameters,
        consumer=_dotted(consumer),
        title=_title(consumer),
        description="\n\n".join(lines),
        table=consumer.route_table(),
        key=consumer.type_key,
        error_value=consumer.error_value,
        emits=consumer.emitted_frames(),
    )


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _title(consumer: type) -> str:
    """``ChatConsumer``; ``Table.socket`` for a ``SocketRouter``'s generated ``Handler``."""
    return consumer.__qualname__.removesuffix(".Handler") if consumer.__name__ == "Handler" else consumer.__name__


def _unique_id(found: Found, taken: set[str]) -> str:
    source = found.name or (found.address or found.route).strip("/") or "root"
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", source.replace("{", "").replace("}", "")).strip("_") or "root"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate
