"""The AsyncAPI document of a project: what it says about each consumer, and what it reports
instead of failing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.contract import project
from wsroute_django.contract import project_document, render_json


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    built, problems = project_document(project.application, title="Tests", version="2.0")
    assert problems == []
    return built


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [ref for value in node.values() for ref in all_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in all_refs(value)]
    return []


def test_a_channel_per_url_pattern_with_its_address_and_parameters(document: dict[str, Any]) -> None:
    channels = document["channels"]
    assert {key: channel["address"] for key, channel in channels.items()} == {
        "ws_chat_room": "/ws/chat/{room}",  # nested URLRouter; the optional trailing / left out
        "game": "/ws/game/{game}/",  # path() with a converter; the URL name is the id
        "ws_custom": "/ws/custom/",
    }
    assert channels["ws_chat_room"]["parameters"] == {"room": {"description": "matches `[a-z]+`"}}
    assert channels["game"]["parameters"] == {"game": {"description": "a number of digits, 0 or more"}}
    assert "parameters" not in channels["ws_custom"]
    assert channels["game"]["title"] == "Game.socket"
    assert channels["ws_chat_room"]["x-wsroute"] == {
        "consumer": "tests.contract.project.Chat",
        "routingKey": "event",
        "errorValue": "error",
    }


def test_each_route_is_an_operation_the_server_receives_with_its_reply(document: dict[str, Any]) -> None:
    operations = document["operations"]
    say = operations["ws_chat_room.client.say"]
    assert say["action"] == "receive"
    assert say["summary"] == "Say something to the room."
    assert [ref["$ref"] for ref in say["reply"]["messages"]] == [
        "#/channels/ws_chat_room/messages/reply.say",
        "#/channels/ws_chat_room/messages/error",
    ]
    request = resolve(document, say["messages"][0]["$ref"])
    body, envelope = request["payload"]["allOf"]
    assert resolve(document, body["$ref"])["properties"]["text"] == {"minLength": 1, "title": "Text", "type": "string"}
    assert envelope["properties"]["event"] == {"type": "string", "const": "say"}
    assert request["correlationId"] == {"$ref": "#/components/correlationIds/ref"}
    reply = resolve(document, say["reply"]["messages"][0]["$ref"])
    assert resolve(document, reply["payload"]["allOf"][0]["$ref"])["properties"]["event"]["const"] == "sent"
    # -> None: no reply but the error frame; no annotation: any object
    assert [ref["$ref"] for ref in operations["ws_chat_room.client.who"]["reply"]["messages"]] == [
        "#/channels/ws_chat_room/messages/error"
    ]
    maybe = resolve(document, "#/channels/ws_chat_room/messages/reply.maybe")
    assert "may also return nothing" in maybe["description"]


def test_regex_and_default_routes_are_described_as_what_they_accept(document: dict[str, Any]) -> None:
    messages = document["channels"]["game"]["messages"]
    regex = messages["client.ACT_(_P_action_A-Z_+)"]
    assert regex["payload"]["properties"]["type"] == {"type": "string", "pattern": "^(?:ACT_(?<action>[A-Z]+))$"}
    assert "in full" in regex["description"] and "no exact route takes" in regex["description"]
    assert regex["x-wsroute"] == {"direction": "client", "pattern": "ACT_(?P<action>[A-Z]+)"}
    default = messages["client.default"]
    assert default["payload"]["properties"]["type"] == {"type": "string"}
    assert default["description"].startswith("Any `type` no other route takes.")
    assert messages["reply.ACT_(_P_action_A-Z_+)"]["description"].endswith("(its return type is not annotated).")


def test_declared_emits_are_operations_the_server_sends(document: dict[str, Any]) -> None:
    operations = document["operations"]
    assert operations["ws_chat_room.server.said"]["action"] == "send"
    said = resolve(document, "#/channels/ws_chat_room/messages/server.said")
    assert said["summary"] == "Someone said something."
    assert said["payload"]["allOf"][1]["properties"]["event"] == {"type": "string", "const": "said"}
    anything = resolve(document, "#/channels/ws_chat_room/messages/server.anything")
    assert anything["payload"]["additionalProperties"] is True  # emits None: any object
    assert operations["game.server.STATE"]["action"] == "send"  # SocketRouter(emits=...)


def test_error_frames_use_each_consumers_routing_key_and_list_every_code(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    custom = schemas["wsroute.ErrorFrame.action.failed"]
    assert custom["properties"]["action"] == {"type": "string", "const": "failed"}
    assert custom["properties"]["code"]["enum"] == [
        "bad_json",
        "bad_message",
        "unknown_type",
        "validation_error",
        "forbidden",
        "rate_limited",
        "too_large",
        "server_error",
    ]
    assert custom["required"] == ["action", "code", "detail"]
    assert {"wsroute.ErrorFrame.event.error", "wsroute.ErrorFrame.type.ERROR"} <= set(schemas)
    assert document["operations"]["ws_custom.error"]["action"] == "send"
    assert document["components"]["correlationIds"]["ref"]["location"] == "$message.payload#/ref"
    # the routes table entry (key, handler, schema) of the custom routing key
    go = document["channels"]["ws_custom"]["messages"]["client.go"]
    assert go["payload"]["allOf"][1]["properties"]["action"]["const"] == "go"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = all_refs(document)
    assert len(refs) > 50
    for ref in refs:
        resolve(document, ref)


def test_regenerating_gives_the_same_text() -> None:
    first, _ = project_document(project.application, title="Tests", version="2.0")
    second, _ = project_document(project.application, title="Tests", version="2.0")
    assert render_json(first) == render_json(second)
    assert list(first["components"]["schemas"]) == sorted(first["components"]["schemas"])
    json.loads(render_json(first))


def test_what_cannot_be_described_is_reported_by_name() -> None:
    document, problems = project_document(project.problems_application)
    reported = {(problem.fatal, str(problem)) for problem in problems}
    assert reported == {
        (
            True,
            "/bad/ (tests.contract.project.BadSchemas.on_send): pydantic cannot express "
            "tests.contract.project.Unexpressible as JSON Schema: "
            "Cannot generate a JsonSchema for core_schema.CallableSchema",
        ),
        (
            True,
            "tests.contract.project.BadSchemas.emits['broken']: pydantic cannot express "
            "tests.contract.project.Unexpressible as JSON Schema: "
            "Cannot generate a JsonSchema for core_schema.CallableSchema",
        ),
        (
            True,
            "URL pattern 'opaque/': cannot see which consumer opaque_app leads to: it is neither a URLRouter, "
            "a Consumer.as_asgi() application, nor middleware that keeps the next application as .inner or "
            ".application",
        ),
        (
            False,
            "URL pattern 'plain/': tests.contract.project.Plain is not a wsroute consumer; "
            "its messages are not described",
        ),
        (
            False,
            "URL pattern '^odd/(\\\\d+)/$': the regex '^odd/(\\\\d+)/$' is not literal text and named groups, "
            "so the channel has no address",
        ),
    }
    # what could be described still is: the fine emitted frame, the odd pattern without an address
    assert document["channels"]["odd_d"]["address"] is None
    assert "server.fine" in document["channels"]["bad"]["messages"]


def test_an_application_without_websockets_is_a_problem() -> None:
    from channels.routing import ProtocolTypeRouter

    _, problems = project_document(ProtocolTypeRouter({"http": project.opaque_app}))
    assert [str(problem) for problem in problems] == [
        "ASGI_APPLICATION: the ProtocolTypeRouter has no 'websocket' entry"
    ]


def test_emits_must_name_frames() -> None:
    from wsroute import ConfigError
    from wsroute_django import JSONWebSocket

    for emits in ({"": project.Said}, ["said"], {1: project.Said}):
        with pytest.raises(ConfigError, match=r"\.emits must map frame names \(non-empty strings\) to schemas"):
            type("Broken", (JSONWebSocket,), {"emits": emits, "__module__": __name__})


def test_a_subclass_adds_to_its_parents_emits() -> None:
    class Louder(project.Chat):
        emits = {"said": project.Sent, "shouted": project.Said}

    assert Louder.emitted_frames() == {"said": project.Sent, "anything": None, "shouted": project.Said}
    assert project.Game.socket.Handler.__module__ == "tests.contract.project"  # the view's module
