"""The Django pages' examples run, and produce exactly the output their pages show.

The core pages are checked by ``tests/test_docs.py``. The Django pages follow the same
conventions, with two differences that keep the two inventories apart (that file expects
exactly the core examples):

- their examples live in ``docs/src/django/`` and are included with single quotes,
  ``--8<-- 'docs/src/django/<module>.py:<section>'``;
- their output blocks are marked ``<!-- django-output: <module>.<function> -->``.

The examples define real consumers and drive them with ``channels.testing.WebsocketCommunicator``
on the channel layer and database of ``tests.settings``, so every example runs in a
transactional database test. A function returns a ``str`` or a list of lines; a coroutine
function is awaited, a plain one runs in a worker thread (it may use the ORM).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from tests.test_docs import DOCS, ROOT, SNIPPET
from tests.test_docs import load as load_source

SOURCES = DOCS / "src" / "django"
PAGES = [
    "decorator-style",
    "subclass-style",
    "migrating",
    "presence",
    "sending",
    "topics",
    "settings",
    "deploying",
    "metrics",
    "contract",
    "testing",
]
OUTPUT = re.compile(
    r"^<!-- django-output: (?P<module>\w+)\.(?P<function>\w+) -->\n```\w*\n(?P<body>.*?)^```$", re.M | re.S
)
#: examples without an output block, and the tests that check them instead
UNCHECKED = {"deploying_example", "metrics_example"}  # test_deploying_*, tests/consumers/test_metrics.py
INCLUDE = re.compile(r"""^--8<-- '(?P<path>[^':]+)(?::(?P<section>\w+))?'$""", re.M)


def load(name: str) -> ModuleType:
    """``docs/src/django/<name>.py``, imported once under its own name."""
    return load_source(name, SOURCES)


async def run(module: str, function: str) -> list[str]:
    fn = getattr(load(module), function)
    result = await fn() if inspect.iscoroutinefunction(fn) else await sync_to_async(fn)()
    return [result] if isinstance(result, str) else list(result)


def shown_outputs() -> list[tuple[str, str, str, list[str]]]:
    found = []
    for page in PAGES:
        for block in OUTPUT.finditer((DOCS / f"{page}.md").read_text()):
            found.append((page, block["module"], block["function"], block["body"].splitlines()))
    return found


OUTPUTS = shown_outputs()


# -- isolation ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
async def _isolated() -> AsyncIterator[None]:
    """An empty channel layer; afterwards no heartbeat held (tests/conftest.py closes the
    sync-handler thread's database connection)."""
    from wsroute_django import presence

    layer = get_channel_layer()
    assert layer is not None
    await layer.flush()
    yield
    await layer.flush()
    leaked = presence.heartbeat.sockets
    if presence.heartbeat.task is not None:
        presence.heartbeat.task.cancel()
        presence.heartbeat.task = None
    presence.heartbeat.sockets = 0
    assert leaked == 0, f"{leaked} persisted socket(s) still hold the heartbeat"


# -- the pages show what the examples produce --------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("page", "module", "function", "shown"), OUTPUTS, ids=[f"{p}:{m}.{f}" for p, m, f, _ in OUTPUTS]
)
async def test_page_shows_what_the_example_produces(page: str, module: str, function: str, shown: list[str]) -> None:
    assert await run(module, function) == shown


def test_every_django_example_is_included_and_checked() -> None:
    examples = {path.stem for path in SOURCES.glob("*.py")}
    included = set()
    for page in PAGES:
        text = (DOCS / f"{page}.md").read_text()
        assert "--8 < --" not in text, f"{page}: a snippet include was mangled by a formatter"
        assert not SNIPPET.search(text), f"{page}: include Django examples with single quotes"
        for snippet in INCLUDE.finditer(text):
            path = ROOT / snippet["path"]
            assert path.is_file(), f"{page} includes missing {snippet['path']}"
            if snippet["section"]:
                assert f"[start:{snippet['section']}]" in path.read_text(), f"{page}: no section {snippet[0]}"
            if path.parent == SOURCES:
                included.add(path.stem)
    checked = {module for _, module, function, _ in OUTPUTS if function == "main"}
    assert examples == included
    assert checked == examples - UNCHECKED


def test_the_pages_are_in_the_nav_and_linked_from_the_home_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    index = (DOCS / "index.md").read_text()
    assert "Page to come" not in index
    for page in PAGES:
        assert f" {page}.md" in nav, page
    for page in ("decorator-style", "subclass-style"):
        assert f"({page}.md)" in index, page


# -- properties the pages promise, checked directly ---------------------------------------------


def frames(lines: list[str], prefix: str = "") -> list[dict[str, Any]]:
    return [json.loads(line.removeprefix(prefix)) for line in lines if line.startswith(prefix + "{")]


@pytest.mark.django_db(transaction=True)
async def test_decorator_style_ping_is_answered_with_pong() -> None:
    from channels.testing import WebsocketCommunicator

    module = load("decorator_style_example")
    client = WebsocketCommunicator(module.application, "/game/")
    await client.connect()
    await client.receive_json_from()  # WELCOME
    await client.send_json_to({"type": "PING", "ref": "p"})
    pong = await client.receive_json_from()
    await client.disconnect()
    assert set(pong) == {"type", "ts", "ref"}
    assert (pong["type"], pong["ref"]) == ("PONG", "p")
    assert isinstance(pong["ts"], float)


def section(path: str, name: str | None) -> str:
    """The text of ``path`` (from the repository root), or of its ``--8<-- [start:name]`` section."""
    text = (ROOT / path).read_text()
    if name is None:
        return text
    start = text.index("\n", text.index(f"--8<-- [start:{name}]")) + 1
    end = text.rindex("\n", 0, text.index(f"--8<-- [end:{name}]")) + 1
    return text[start:end]


def python_blocks(page: Path) -> list[str]:
    """The page's ```python blocks, with their snippet includes (either quote style) filled in."""
    text = page.read_text()
    for pattern in (SNIPPET, INCLUDE):
        text = pattern.sub(lambda found: section(found["path"], found["section"]), text)
    return re.findall(r"^```python\n(.*?)^```$", text, re.M | re.S)


def test_every_asgi_application_in_the_docs_checks_the_origin() -> None:
    """A socket carries the session cookie whichever site opened it: every asgi.py the docs
    show must refuse other sites' pages, or a copied snippet lets them drive a user's socket."""
    pages = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
    routers = [(page.name, block) for page in pages for block in python_blocks(page) if "ProtocolTypeRouter(" in block]
    assert {name for name, _ in routers} >= {"decorator-style.md", "tutorial.md"}
    for name, block in routers:
        websocket = block.split('"websocket":', 1)[1]
        assert websocket.lstrip().startswith("AllowedHostsOriginValidator("), f"{name}: {websocket[:80]!r}"


@pytest.mark.django_db(transaction=True)
async def test_decorator_style_asgi_refuses_pages_of_other_sites() -> None:
    from channels.testing import WebsocketCommunicator
    from django.test import override_settings

    module = load("decorator_style_example")
    namespace = dict(vars(module))
    with override_settings(ALLOWED_HOSTS=["game.example"]):  # the validator reads it when built
        exec(compile(section("docs/src/django/decorator_style_example.py", "asgi"), "asgi", "exec"), namespace)
    application = namespace["application"]

    for headers in ([(b"origin", b"https://evil.example")], []):  # another site's page; no Origin at all
        refused = WebsocketCommunicator(application, "/game/", headers=headers)
        connected, _ = await refused.connect()
        assert not connected, headers
        await refused.disconnect()
    own = WebsocketCommunicator(application, "/game/", headers=[(b"origin", b"https://game.example")])
    connected, _ = await own.connect()
    assert connected
    assert (await own.receive_json_from())["type"] == "WELCOME"
    await own.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_subclass_style_default_route_and_lifecycle_hooks() -> None:
    from channels.testing import WebsocketCommunicator

    from wsroute_django import JSONWebSocket

    class Catchall(JSONWebSocket):
        def on_connect(self) -> None:
            pass

        def default_route(self, event: dict[str, Any]) -> dict[str, Any]:
            return {"event": "caught", "got": event["event"]}

    keys = set(Catchall.route_keys())
    assert keys == {None}  # the default route only: no "connect"
    client = WebsocketCommunicator(Catchall.as_asgi(), "/")
    await client.connect()
    await client.send_json_to({"event": "anything"})
    assert await client.receive_json_from() == {"event": "caught", "got": "anything"}
    await client.send_json_to({"event": "connect"})
    assert await client.receive_json_from() == {"event": "caught", "got": "connect"}  # not the hook
    await client.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_payload_key_named_like_the_routing_key_replaces_the_event() -> None:
    from channels.testing import WebsocketCommunicator

    from wsroute_django import JSONWebSocket

    class Room(JSONWebSocket):
        async def on_connect(self) -> None:
            await self.group_add("docs-room")

        async def on_go(self, event: dict[str, Any]) -> None:
            await self.group_send("docs-room", "message", {"event": "other", "type": "kept"})

    client = WebsocketCommunicator(Room.as_asgi(), "/")
    await client.connect()
    await client.send_json_to({"event": "go"})
    assert await client.receive_json_from() == {"event": "other", "type": "kept"}
    await client.disconnect()


def test_group_names_are_checked_with_a_value_error() -> None:
    from wsroute_django import InvalidGroupName
    from wsroute_django.groups import check_group_name

    assert issubclass(InvalidGroupName, ValueError)
    assert check_group_name("room.lobby-1_x") == "room.lobby-1_x"
    for bad in ["chat room", "", "x" * 100, "caf\u00e9", "room\n"]:
        with pytest.raises(InvalidGroupName):
            check_group_name(bad)
    check_group_name("x" * 99)


@pytest.mark.django_db(transaction=True)
async def test_sync_sending_methods_refuse_the_event_loop() -> None:
    from django.core.exceptions import SynchronousOnlyOperation

    from wsroute_django.models import Socket

    with pytest.raises(SynchronousOnlyOperation):
        Socket.objects.send_json({"type": "X"})
    assert await Socket.objects.asend_json({"type": "X"}) == 0


def test_the_socket_table_on_the_presence_page_lists_every_field() -> None:
    from wsroute_django.models import Socket

    text = (DOCS / "presence.md").read_text()
    table = text.split("| Field | |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    fields = {field.name for field in Socket._meta.concrete_fields} - {"id"}
    assert documented == fields


def test_the_model_is_what_the_migration_page_says() -> None:
    from django.db import models

    from wsroute_django.models import Socket

    meta = Socket._meta
    assert meta.get_field("channel_name").max_length == 100
    assert meta.get_field("path").max_length == 255
    assert meta.get_field("path").db_index
    assert isinstance(meta.get_field("user_ip"), models.GenericIPAddressField)
    session = meta.get_field("session")
    assert session.null and not session.db_constraint
    assert session.remote_field.on_delete is models.SET_NULL
    assert meta.get_field("active").default is True


def test_the_heartbeat_middleware_defaults_on_the_presence_page() -> None:
    from wsroute_django import HeartbeatMiddleware

    assert (HeartbeatMiddleware.timeout, HeartbeatMiddleware.close_code) == (60.0, 4408)
    text = (DOCS / "presence.md").read_text()
    assert "(default 60)" in text and "with 4408" in text


# -- settings -------------------------------------------------------------------------------------


def test_the_settings_page_shows_every_default() -> None:
    from wsroute_django.conf import DEFAULTS

    assert asdict(DEFAULTS) == load("settings_example").WSROUTE
    text = (DOCS / "settings.md").read_text()
    for key, value in asdict(DEFAULTS).items():
        section = text.split(f"### `{key}`\n", 1)[1].split("\n#", 1)[0]
        assert f"default `{value!r}`" in section or f"default `{value}`" in section, key


def test_the_settings_page_lists_every_system_check() -> None:
    source = (ROOT / "src" / "wsroute_django" / "checks.py").read_text()
    numbers = {
        node.args[-1].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "_error"
        and isinstance(node.args[-1], ast.Constant)
    }
    table = set(re.findall(r"^\| `wsroute\.E(\d{3})` \|", (DOCS / "settings.md").read_text(), re.M))
    assert {int(n) for n in table} == numbers
    shown = {line for _, module, _, lines in OUTPUTS if module == "settings_example" for line in lines}
    assert {f"wsroute.E{n:03d}" for n in numbers} <= {m for line in shown for m in re.findall(r"wsroute\.E\d{3}", line)}


# -- deploying ------------------------------------------------------------------------------------


def test_deploying_settings_pass_the_checks() -> None:
    from django.test import override_settings

    from wsroute_django.checks import check_settings

    settings = load("deploying_example")
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    with override_settings(WSROUTE=settings.WSROUTE):
        assert check_settings() == []


def test_deploying_redis_section_builds_a_channels_redis_layer() -> None:
    """The section another engineer edits: it must stay one runnable CHANNEL_LAYERS block."""
    from channels_redis.core import RedisChannelLayer

    text = (DOCS / "deploying.md").read_text()
    section = text.split("## channels-redis connection settings\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```$", section, re.M | re.S)
    assert len(blocks) == 1, "keep one python block in the channels-redis section"
    namespace: dict[str, Any] = {}
    exec(compile(ast.parse(blocks[0]), "deploying.md", "exec"), namespace)
    layer = namespace["CHANNEL_LAYERS"]["default"]
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    RedisChannelLayer(**layer["CONFIG"])  # accepted by channels-redis (no connection is made)
