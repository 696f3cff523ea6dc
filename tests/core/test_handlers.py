"""Handler specs: a handler is called with what its signature asks for."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import TYPE_CHECKING, Any

import pydantic
import pytest
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from wsroute import ConfigError, Dispatcher, HandlerSpec

if TYPE_CHECKING:
    from conftest import Connect, FakeTransport, MakeTable


class Chat(pydantic.BaseModel):
    type: str
    text: str


class ChatDict(TypedDict):
    type: str
    text: str


@dataclasses.dataclass
class ChatData:
    type: str
    text: str


# --- what the signature asks for ----------------------------------------------------------


def test_socket_only() -> None:
    def on_notify(socket: Any) -> None:
        pass

    spec = HandlerSpec.from_callable(on_notify)
    assert spec.takes_content is False
    assert spec.takes_match is False
    assert spec.validator is None
    assert spec.is_async is False
    assert spec.fn is on_notify


def test_socket_and_content() -> None:
    def on_chat(socket: Any, content: dict[str, Any]) -> None:
        pass

    spec = HandlerSpec.from_callable(on_chat)
    assert spec.takes_content is True
    assert spec.takes_match is False
    assert spec.validator is None


def test_content_with_a_default_is_still_passed() -> None:
    # django-channels-router's default_route(socket, content=None) gets the content
    def default_route(socket: Any, content: dict[str, Any] | None = None) -> None:
        pass

    assert HandlerSpec.from_callable(default_route).takes_content is True


def test_content_parameter_may_have_any_name() -> None:
    class Consumer:
        def on_chat(self, event: dict[str, Any]) -> None:
            pass

        def on_notify(self) -> None:
            pass

    assert HandlerSpec.from_callable(Consumer.on_chat).takes_content is True
    assert HandlerSpec.from_callable(Consumer.on_notify).takes_content is False


@pytest.mark.parametrize("kind", ["positional", "keyword-only", "keyword-only-default"])
def test_match_parameter(kind: str) -> None:
    def positional(socket: Any, content: dict[str, Any], match: Any) -> None:
        pass

    def keyword_only(socket: Any, content: dict[str, Any], *, match: Any) -> None:
        pass

    def keyword_only_default(socket: Any, content: dict[str, Any], *, match: Any = None) -> None:
        pass

    fn = {"positional": positional, "keyword-only": keyword_only, "keyword-only-default": keyword_only_default}[kind]
    spec = HandlerSpec.from_callable(fn)
    assert spec.takes_match is True
    assert spec.takes_content is True


def test_match_without_content() -> None:
    def on_room(socket: Any, match: Any) -> None:
        pass

    spec = HandlerSpec.from_callable(on_room)
    assert spec.takes_match is True
    assert spec.takes_content is False


def test_varargs_take_the_content() -> None:
    def on_any(socket: Any, *args: Any) -> None:
        pass

    assert HandlerSpec.from_callable(on_any).takes_content is True


def test_extra_optional_parameter_is_allowed() -> None:
    def on_chat(socket: Any, content: dict[str, Any], extra: int = 1) -> None:
        pass

    assert HandlerSpec.from_callable(on_chat).takes_content is True


def test_name_is_module_and_qualname() -> None:
    def on_chat(socket: Any, content: dict[str, Any]) -> None:
        pass

    spec = HandlerSpec.from_callable(on_chat)
    assert spec.name == f"{__name__}.{on_chat.__qualname__}"


# --- sync or async ------------------------------------------------------------------------


async def async_handler(socket: Any, content: dict[str, Any], *, prefix: str = "") -> None:
    pass


def sync_handler(socket: Any, content: dict[str, Any], *, prefix: str = "") -> None:
    pass


class AsyncCallable:
    async def __call__(self, socket: Any, content: dict[str, Any]) -> None:
        pass


class SyncCallable:
    def __call__(self, socket: Any, content: dict[str, Any]) -> None:
        pass


class WithMethods:
    async def on_async(self, event: dict[str, Any]) -> None:
        pass

    def on_sync(self, event: dict[str, Any]) -> None:
        pass


@pytest.mark.parametrize(
    ("fn", "is_async"),
    [
        pytest.param(async_handler, True, id="async-def"),
        pytest.param(sync_handler, False, id="def"),
        pytest.param(functools.partial(async_handler, prefix="x"), True, id="partial-of-async"),
        pytest.param(functools.partial(sync_handler, prefix="x"), False, id="partial-of-sync"),
        pytest.param(functools.partial(functools.partial(async_handler), prefix="x"), True, id="nested-partial"),
        pytest.param(AsyncCallable(), True, id="async-__call__"),
        pytest.param(SyncCallable(), False, id="sync-__call__"),
        pytest.param(functools.partial(AsyncCallable()), True, id="partial-of-async-__call__"),
        pytest.param(WithMethods().on_async, True, id="bound-async-method"),
        pytest.param(WithMethods.on_async, True, id="async-method"),
        pytest.param(WithMethods.on_sync, False, id="sync-method"),
        pytest.param(lambda socket, content: None, False, id="lambda"),
    ],
)
def test_async_detection(fn: Any, is_async: bool) -> None:
    assert HandlerSpec.from_callable(fn).is_async is is_async


def test_partial_is_described_by_its_function() -> None:
    spec = HandlerSpec.from_callable(functools.partial(async_handler, prefix="x"))
    assert spec.name.endswith("async_handler")


# --- validation from the signature or schema= -------------------------------------------


def test_pydantic_annotation_turns_on_validation() -> None:
    def on_chat(socket: Any, content: Chat) -> None:
        pass

    spec = HandlerSpec.from_callable(on_chat)
    assert spec.validator is not None
    assert spec.takes_content is True
    assert spec.validator({"type": "chat", "text": "hi"}) == Chat(type="chat", text="hi")


def test_dict_annotation_or_none_leaves_validation_off() -> None:
    def annotated(socket: Any, content: dict[str, Any]) -> None:
        pass

    def bare(socket, content):  # type: ignore[no-untyped-def]
        pass

    assert HandlerSpec.from_callable(annotated).validator is None
    assert HandlerSpec.from_callable(bare).validator is None


@pytest.mark.parametrize("schema", [Chat, ChatDict, ChatData], ids=["model", "typeddict", "dataclass"])
def test_schema_argument_turns_on_validation(schema: object) -> None:
    def on_chat(socket: Any, content: Any) -> None:
        pass

    spec = HandlerSpec.from_callable(on_chat, schema=schema)
    assert spec.validator is not None
    validated = spec.validator({"type": "chat", "text": "hi"})
    if schema is ChatDict:
        assert validated == {"type": "chat", "text": "hi"}
    else:
        assert isinstance(validated, schema)  # type: ignore[arg-type]


def test_schema_argument_wins_over_the_annotation() -> None:
    def on_chat(socket: Any, content: Chat) -> None:
        pass

    spec = HandlerSpec.from_callable(on_chat, schema=ChatData)
    assert spec.validator is not None
    assert isinstance(spec.validator({"type": "chat", "text": "hi"}), ChatData)


def test_schema_with_no_content_parameter_is_a_config_error() -> None:
    def on_notify(socket: Any) -> None:
        pass

    with pytest.raises(ConfigError, match="content"):
        HandlerSpec.from_callable(on_notify, schema=Chat)


def test_unusable_schema_is_a_config_error() -> None:
    def on_chat(socket: Any, content: Any) -> None:
        pass

    with pytest.raises(ConfigError):
        HandlerSpec.from_callable(on_chat, schema=object())


# --- handlers wsroute cannot call ---------------------------------------------------------


def test_extra_required_parameter_is_a_config_error() -> None:
    def on_chat(socket: Any, content: dict[str, Any], user: Any) -> None:
        pass

    with pytest.raises(ConfigError, match="'user'"):
        HandlerSpec.from_callable(on_chat)


def test_extra_required_keyword_only_parameter_is_a_config_error() -> None:
    def on_chat(socket: Any, content: dict[str, Any], *, user: Any) -> None:
        pass

    with pytest.raises(ConfigError, match="'user'"):
        HandlerSpec.from_callable(on_chat)


def test_zero_argument_function_is_a_config_error() -> None:
    def on_nothing() -> None:
        pass

    with pytest.raises(ConfigError, match="socket"):
        HandlerSpec.from_callable(on_nothing)


def test_only_match_is_a_config_error() -> None:
    def on_match(*, match: Any) -> None:
        pass

    with pytest.raises(ConfigError):
        HandlerSpec.from_callable(on_match)


def test_non_callable_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        HandlerSpec.from_callable("on_chat")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "annotation",
    [
        pytest.param("NoSuchModel", id="undefined-name"),
        pytest.param("pydantic.NoSuchModel", id="missing-attribute"),
        pytest.param("list[", id="syntax-error"),
    ],
)
def test_unresolvable_string_annotation_is_a_config_error(annotation: str) -> None:
    def on_chat(socket: Any, content: Any) -> None:
        pass

    on_chat.__annotations__ = {"content": annotation}
    with pytest.raises(ConfigError, match="on_chat"):
        HandlerSpec.from_callable(on_chat)


# --- the signature is read once -----------------------------------------------------------


async def test_signature_is_read_at_declaration_not_per_message(
    monkeypatch: pytest.MonkeyPatch,
    make_table: MakeTable,
    connect: Connect,
    transport: FakeTransport,
) -> None:
    async def on_chat(socket: Any, content: Chat) -> dict[str, Any]:
        return {"type": "chat", "echo": content.text}

    connection = connect(Dispatcher(make_table([("chat", on_chat)])))

    def no_signature(*args: Any, **kwargs: Any) -> inspect.Signature:
        raise AssertionError("inspect.signature called while dispatching")

    monkeypatch.setattr(inspect, "signature", no_signature)
    await connection.receive('{"type": "chat", "text": "a"}')
    await connection.receive('{"type": "chat", "text": "b"}')
    assert transport.frames == [{"type": "chat", "echo": "a"}, {"type": "chat", "echo": "b"}]


def test_spec_is_immutable() -> None:
    spec = HandlerSpec.from_callable(sync_handler)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.takes_content = False  # type: ignore[misc]
