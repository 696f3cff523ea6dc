"""wsroute: routed, validated JSON WebSocket messages. This core never imports Django."""

from wsroute.dispatch import Connection, Dispatcher, thread_runner
from wsroute.envelope import Envelope, decode, error_frame, reply_frame
from wsroute.errors import (
    AlreadyJoined,
    BadJSON,
    BadMessage,
    ConfigError,
    DuplicateRouteError,
    Forbidden,
    FrameNotSent,
    MessageError,
    NotJoined,
    RateLimited,
    Reject,
    TooLarge,
    TooManyTopics,
    UnknownTopic,
    UnknownType,
    ValidationFailed,
    WsrouteError,
)
from wsroute.handlers import HandlerSpec
from wsroute.limits import Limits
from wsroute.middleware import DROP, Middleware, Pipeline
from wsroute.routing import Route, RouteTable, RouteTableBuilder
from wsroute.topics import Join, TopicSet, TopicTable, TopicTableBuilder, check_topic_name
from wsroute.types import Content, ErrorCode, Observer, Ref, SyncRunner, Transport

__version__ = "0.1.0"

#: the stable public API; the internals imported above (Connection, Envelope, HandlerSpec,
#: Pipeline, decode, error_frame, reply_frame, thread_runner) stay importable for code that
#: already uses them, but may change between releases
__all__ = [
    "DROP",
    "AlreadyJoined",
    "BadJSON",
    "BadMessage",
    "ConfigError",
    "Content",
    "Dispatcher",
    "DuplicateRouteError",
    "ErrorCode",
    "Forbidden",
    "FrameNotSent",
    "Join",
    "Limits",
    "MessageError",
    "Middleware",
    "NotJoined",
    "Observer",
    "RateLimited",
    "Ref",
    "Reject",
    "Route",
    "RouteTable",
    "RouteTableBuilder",
    "SyncRunner",
    "TooLarge",
    "TooManyTopics",
    "TopicSet",
    "TopicTable",
    "TopicTableBuilder",
    "Transport",
    "UnknownTopic",
    "UnknownType",
    "ValidationFailed",
    "WsrouteError",
    "__version__",
    "check_topic_name",
]

#: importable, not part of the stable API
INTERNAL = (Connection, Envelope, HandlerSpec, Pipeline, decode, error_frame, reply_frame, thread_runner)
