"""``SocketClient``: a test WebSocket client for wsroute consumers, over Channels' ``WebsocketCommunicator``."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from wsroute_django.testing.db import hold_connections, release_connections
from wsroute_django.testing.errors import (
    ErrorReply,
    FrameTimeout,
    HandshakeRefused,
    SocketClosed,
    UnexpectedFrame,
)
from wsroute_django.testing.target import (
    ERROR_VALUES,
    Headers,
    has_header,
    login_cookie,
    origin_for_settings,
    resolve,
    with_header,
)

__all__ = ["DEFAULT_ORIGIN", "SocketClient"]

Frame = dict[str, Any]

#: ``origin=DEFAULT_ORIGIN``: an ``Origin`` header the project's ``ALLOWED_HOSTS`` accepts
DEFAULT_ORIGIN: Any = type("DefaultOrigin", (), {"__repr__": lambda self: "DEFAULT_ORIGIN", "__slots__": ()})()

_refs = itertools.count(1)
#: seconds a refused handshake's application gets to finish
_REFUSED_GRACE = 1.0


class SocketClient:
    """A WebSocket client for tests, connected to a consumer in this process.

    ::

        async with SocketClient("/ws/chat/lobby/", user=alice) as client:  # through ASGI_APPLICATION
            reply = await client.request("say", text="hi")     # waits for the reply with its ref
            assert reply == {"event": "sent", "ref": reply["ref"]}
            assert (await client.receive_event("message"))["text"] == "hi"
            await client.expect_error("validation_error", "say", text="")
            await client.assert_nothing()

    ``target`` is a URL path served by the project's ``ASGI_APPLICATION`` (with its origin
    check and middleware, as in production), a consumer class, a ``SocketRouter``
    (``MyView.socket``), or any ASGI application (then ``path`` is the URL path).

    - ``user``: log this user in to a new session (``SESSION_ENGINE``) and send its cookie,
      so ``scope["user"]``, ``scope["session"]`` and the ``Socket`` row are what a browser of
      that user gets. Consumer classes are wrapped in Channels' ``AuthMiddlewareStack`` to
      read it (``auth=False`` to not wrap; ``auth=True`` wraps an ASGI application too).
      Without ``user`` the socket is anonymous. Logging in runs the ORM (see the docs on
      databases).
    - ``origin``: the ``Origin`` header; by default one the project's ``ALLOWED_HOSTS``
      accepts, so ``AllowedHostsOriginValidator`` lets the socket in; ``None`` sends none.
    - ``routing_key``: ``type`` or ``event`` (or a custom key); found from the consumer
      (``type_key``) when the client can see it, else ``type``.
    - ``timeout``: seconds to wait for a frame that must arrive (not a timing assertion:
      a generous bound that turns a hang into a failure).

    Frames the client is not waiting for are kept, in order, for a later ``receive_event``
    or ``receive``; ``frames`` lists everything received, and failures show it.
    """

    def __init__(
        self,
        target: Any,
        path: str | None = None,
        *,
        user: Any = None,
        origin: Any = DEFAULT_ORIGIN,
        headers: Sequence[tuple[bytes, bytes]] = (),
        subprotocols: Sequence[str] = (),
        scope: Mapping[str, Any] | None = None,
        routing_key: str | None = None,
        auth: bool | None = None,
        backend: str | None = None,
        timeout: float = 5.0,
        disconnect_timeout: float = 10.0,
    ) -> None:
        self._target = resolve(target, path, auth)
        consumer = self._target.consumer
        detected = getattr(consumer, "type_key", None)
        #: the key that names a frame's route (``type``, ``event``, ...)
        self.routing_key: str = routing_key or (detected if isinstance(detected, str) else "type")
        error_value = getattr(consumer, "error_value", None) if routing_key in (None, detected) else None
        self._error_values = (
            {error_value} if isinstance(error_value, str) else {ERROR_VALUES.get(self.routing_key, "ERROR"), "error"}
        )
        self.user = user
        self.path = self._target.path
        self.timeout = timeout
        self.disconnect_timeout = disconnect_timeout
        #: every frame received, in order: a dict for each JSON object, else the raw str/bytes
        self.frames: list[Any] = []
        #: the server's close code, once it closed the socket
        self.close_code: int | None = None
        self.close_reason = ""
        self._origin = origin
        self._headers: Headers = list(headers)
        self._subprotocols = list(subprotocols)
        self._scope = dict(scope or {})
        self._backend = backend
        self._unread: list[int] = []  # indexes into self.frames, oldest first
        self._communicator: Any = None
        self._closed_by_client = False
        self._crash_raised = False
        self._reader = asyncio.Lock()

    # -- connecting ---------------------------------------------------------------------------

    async def connect(self) -> SocketClient:
        """Open the socket; raises ``HandshakeRefused`` if the server closes it instead."""
        if self._communicator is not None:
            raise RuntimeError("this SocketClient is already connected; make a new one per connection")
        from channels.testing import WebsocketCommunicator

        hold_connections()  # first: logging the user in runs database_sync_to_async
        try:
            headers = await self._handshake_headers()
        except BaseException:
            release_connections()
            raise
        communicator = WebsocketCommunicator(
            self._target.app, self.path, headers=headers, subprotocols=self._subprotocols
        )
        communicator.scope.update(self._scope)
        self._communicator = communicator
        await communicator.send_input({"type": "websocket.connect"})
        try:
            message = await self._output(self._deadline(self.timeout))
        except BaseException:
            await self.close()
            raise
        if message is None:
            await self.close()
            raise HandshakeRefused(f"no answer to the handshake on {self.path} within {self.timeout} s", None)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            # The refusing application has nothing left to do. Channels' own refuser
            # (WebsocketDenier) may sit out a channels-redis receive before it notices the
            # disconnect, so it gets a short grace, then is cancelled.
            await self.close(grace=min(self.disconnect_timeout, _REFUSED_GRACE))
            raise HandshakeRefused(
                f"the server refused the socket on {self.path} with code {self.close_code} (before accepting it; "
                f"AllowedHostsOriginValidator does this to an Origin not in ALLOWED_HOSTS: this one was "
                f"{self._origin!r})",
                self.close_code,
            )
        if message["type"] != "websocket.accept":
            await self.close()
            raise UnexpectedFrame(f"the server answered the handshake with {message!r}")
        return self

    async def _handshake_headers(self) -> Headers:
        headers = self._headers
        if self._origin is DEFAULT_ORIGIN:
            self._origin = origin_for_settings()
        if self._origin is not None and not has_header(headers, b"origin"):
            headers = with_header(headers, b"origin", str(self._origin).encode("latin-1"))
        if self.user is not None:
            from channels.db import database_sync_to_async

            name, value = await database_sync_to_async(login_cookie)(self.user, self._backend)
            headers = with_header(headers, b"cookie", f"{name}={value}".encode("latin-1"))
        return headers

    async def close(self, code: int = 1000, *, grace: float | None = None) -> None:
        """Disconnect (as a browser would, with ``code``) and wait for the consumer to finish,
        at most ``grace`` seconds (default ``disconnect_timeout``) before cancelling it.

        Re-raises an exception that ended the application. Safe to call twice."""
        communicator = self._communicator
        if communicator is None or self._closed_by_client:
            return
        self._closed_by_client = True
        try:
            if not communicator.future.done():
                await communicator.send_input({"type": "websocket.disconnect", "code": code})
            if not self._crash_raised:  # raised once already, where the client met it
                await communicator.wait(self.disconnect_timeout if grace is None else grace)
        finally:
            release_connections()

    async def __aenter__(self) -> SocketClient:
        return await self.connect()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- sending --------------------------------------------------------------------------------

    async def send(self, frame: Mapping[str, Any], /) -> None:
        """Send ``frame`` as JSON, as it is (no ``ref`` added)."""
        await self.send_text(json.dumps(frame))

    async def send_text(self, text: str, /) -> None:
        """Send a raw text frame (it need not be JSON; an empty one too)."""
        await self._input({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes, /) -> None:
        """Send a binary frame."""
        await self._input({"type": "websocket.receive", "bytes": data})

    # -- expecting ------------------------------------------------------------------------------

    async def request(self, name: str, payload: Mapping[str, Any] | None = None, /, **fields: Any) -> Frame:
        """Send ``{routing_key: name, **payload, **fields, "ref": <fresh>}`` and return the
        reply that carries the same ``ref``.

        Frames that arrive meanwhile are kept for ``receive_event``. An error frame in
        answer raises ``ErrorReply`` (use ``expect_error`` when an error is the point); so
        does one without a ``ref`` that arrives while waiting, since a frame that could
        not be read (``bad_json``, ``too_large``, ``rate_limited``) gets its error without it.
        """
        reply, ref = await self._ask(name, payload, fields)
        if self._is_error(reply):
            raise ErrorReply(
                f"{name!r} (ref {ref!r}) was answered with an error frame, code {reply.get('code')!r}: "
                f"{reply.get('detail')!r}",
                reply,
                self.frames,
                self._unread,
            )
        return reply

    async def expect_error(
        self, code: str, name: str | None = None, payload: Mapping[str, Any] | None = None, /, **fields: Any
    ) -> Frame:
        """The next error frame has ``code``; returns it.

        With ``name`` (and a payload), send that request first and expect its answer to be
        the error: ``await client.expect_error("validation_error", "move", cell=99)``.
        Without, wait for the next error frame, whatever caused it (other frames are kept)."""
        if name is None:
            error = await self._expect(lambda index, frame: self._is_error(frame), f"an error frame with code {code!r}")
            what = "the next error frame"
        else:
            error, ref = await self._ask(name, payload, fields)
            what = f"the answer to {name!r} (ref {ref!r})"
            if not self._is_error(error):
                raise UnexpectedFrame(
                    f"expected {what} to be a {code!r} error, it is a reply", self.frames, self._unread
                )
        if error.get("code") != code:
            raise UnexpectedFrame(
                f"expected {what} to have code {code!r}, it has {error.get('code')!r}: {error.get('detail')!r}",
                self.frames,
                self._unread,
            )
        return error

    async def receive_event(self, name: str, /) -> Frame:
        """The next frame whose routing key is ``name`` (earlier frames of other names are kept)."""
        return await self._expect(lambda index, frame: frame.get(self.routing_key) == name, f"a {name!r} frame")

    async def receive(self) -> Frame:
        """The next frame, whatever it is."""
        return await self._expect(lambda index, frame: True, "a frame")

    async def assert_nothing(self, timeout: float = 0.2) -> None:  # noqa: ASYNC109  # a window, not a deadline
        """No frame is left unread, and none arrives within ``timeout`` seconds.

        Absence over a short window is weak evidence; where you can, follow with a request
        whose reply must be the next frame."""
        if not self._unread and self.close_code is not None:
            late = await self._output(self._deadline(timeout))
            if late is None or late.get("type") == "websocket.close":
                return
            raise UnexpectedFrame(
                f"the server closed the socket (code {self.close_code}), then sent {late!r}", self.frames, self._unread
            )
        if not self._unread:
            try:
                await self._read(self._deadline(timeout))
            except FrameTimeout:
                return
        count = len(self._unread)
        raise UnexpectedFrame(f"expected no frame, but {count} arrived unread", self.frames, self._unread)

    async def expect_close(self, code: int | None = None) -> int:
        """The server closes the socket (with ``code``, if given); returns the close code.

        Frames sent before the close are kept."""
        deadline = self._deadline(self.timeout)
        while self.close_code is None:
            try:
                await self._read(deadline, "the server to close the socket")
            except SocketClosed:
                break
        assert self.close_code is not None
        if code is not None and self.close_code != code:
            raise SocketClosed(
                f"expected the server to close with code {code}, it closed with {self.close_code} "
                f"(reason {self.close_reason!r})",
                self.close_code,
                self.close_reason,
                self.frames,
                self._unread,
            )
        return self.close_code

    @property
    def unread(self) -> list[Any]:
        """Frames received and not yet returned by any ``receive*``/``request``, oldest first."""
        return [self.frames[index] for index in self._unread]

    # -- internals -------------------------------------------------------------------------------

    async def _ask(self, name: str, payload: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> tuple[Frame, Any]:
        """Send a request with a fresh ``ref`` (unless it has one); return its answer and the ``ref``."""
        frame: Frame = {self.routing_key: name, **(payload or {}), **fields}
        ref = frame.setdefault("ref", f"r{next(_refs)}")
        start = len(self.frames)
        await self.send(frame)
        return await self._expect(self._answer_to(ref, start), f"the answer to {name!r} (ref {ref!r})"), ref

    def _is_error(self, frame: Frame) -> bool:
        return frame.get(self.routing_key) in self._error_values and "code" in frame

    def _answer_to(self, ref: Any, start: int) -> Callable[[int, Frame], bool]:
        """Matches the answer to a request sent when ``start`` frames had arrived: the frame
        with its ``ref``, or an error without one that arrived after it was sent."""

        def answer(index: int, frame: Frame) -> bool:
            if "ref" in frame:
                return bool(frame["ref"] == ref)
            return index >= start and self._is_error(frame)

        return answer

    async def _expect(self, wanted: Callable[[int, Frame], bool], what: str) -> Frame:
        """The first unread frame ``wanted`` accepts, from those kept or those to come.

        Several may wait at once (``asyncio.gather`` of requests): one reads the socket at a
        time, and each looks again at the kept frames after every frame read."""
        deadline = self._deadline(self.timeout)
        while True:
            for position, index in enumerate(self._unread):
                if wanted(index, self.frames[index]):
                    del self._unread[position]
                    return self.frames[index]  # type: ignore[no-any-return]
            seen = len(self.frames)
            try:
                async with asyncio.timeout_at(deadline):
                    await self._reader.acquire()
            except TimeoutError:
                raise FrameTimeout(
                    f"{what} did not arrive within {self.timeout} s", self.frames, self._unread
                ) from None
            try:
                if len(self.frames) == seen:  # no other waiter read a frame meanwhile
                    await self._read(deadline, what)
            finally:
                self._reader.release()

    async def _read(self, deadline: float, what: str = "a frame") -> Frame:
        """Wait for the next frame, keep it unread and return it."""
        if self.close_code is not None:
            raise SocketClosed(
                f"waiting for {what}, but the server had closed the socket with code {self.close_code} "
                f"(reason {self.close_reason!r})",
                self.close_code,
                self.close_reason,
                self.frames,
                self._unread,
            )
        message = await self._output(deadline)
        if message is None:
            raise FrameTimeout(f"{what} did not arrive within {self.timeout} s", self.frames, self._unread)
        kind = message.get("type")
        if kind == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason") or ""
            raise SocketClosed(
                f"waiting for {what}, the server closed the socket with code {self.close_code} "
                f"(reason {self.close_reason!r})",
                self.close_code,
                self.close_reason,
                self.frames,
                self._unread,
            )
        if kind != "websocket.send":
            raise UnexpectedFrame(f"waiting for {what}, the application sent {message!r}", self.frames, self._unread)
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes", b"")
        self.frames.append(raw)
        frame = _decode(raw)
        if frame is None:
            raise UnexpectedFrame(
                f"waiting for {what}, the server sent a {'binary' if isinstance(raw, bytes) else 'text'} frame "
                "that is not a JSON object",
                self.frames,
                self._unread,
            )
        self.frames[-1] = frame
        self._unread.append(len(self.frames) - 1)
        return frame

    async def _output(self, deadline: float) -> dict[str, Any] | None:
        """The application's next ASGI message, or None at ``deadline``.

        Unlike ``WebsocketCommunicator.receive_output``, a timeout leaves the application
        running, so a failed expectation can be caught and the conversation go on."""
        communicator = self._require_connected()
        future = communicator.future
        queue = communicator.output_queue
        if not queue.empty():
            return queue.get_nowait()  # type: ignore[no-any-return]
        if future.done():
            return self._ended(future)
        getter = asyncio.ensure_future(queue.get())
        try:
            await asyncio.wait(
                {getter, future}, timeout=max(0.0, deadline - _now()), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not getter.done():
                getter.cancel()
                await asyncio.wait({getter})
        if getter.done() and not getter.cancelled():
            return getter.result()  # type: ignore[no-any-return]
        if future.done():
            return self._ended(future)
        return None

    def _ended(self, future: asyncio.Future[Any]) -> dict[str, Any]:
        """The application returned: re-raise what ended it, or report it as a close."""
        if not future.cancelled() and future.exception() is not None:
            self._crash_raised = True
            future.result()  # the application's own exception, with its traceback
        # what a browser sees when the server goes away without a close frame
        return {"type": "websocket.close", "code": 1006, "reason": "the application ended without closing the socket"}

    async def _input(self, message: dict[str, Any]) -> None:
        communicator = self._require_connected()
        if communicator.future.done():
            self._ended(communicator.future)
        await communicator.send_input(message)

    def _require_connected(self) -> Any:
        if self._communicator is None:
            raise RuntimeError(
                "the SocketClient is not connected: use `async with SocketClient(...)` or `await connect()`"
            )
        return self._communicator

    def _deadline(self, timeout: float) -> float:
        return _now() + timeout

    def __repr__(self) -> str:
        state = "closed" if self.close_code is not None or self._closed_by_client else "open"
        return f"<SocketClient {self.path} {self.routing_key}= {state}, {len(self.frames)} frame(s)>"


def _now() -> float:
    return asyncio.get_running_loop().time()


def _decode(raw: str | bytes) -> Frame | None:
    if isinstance(raw, bytes):
        return None
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None
