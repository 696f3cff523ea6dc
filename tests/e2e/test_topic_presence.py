"""Topic presence across two daphne processes, and after one of them is killed."""

from __future__ import annotations

import pytest

from tests.e2e.support import Cluster, receive, request

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

#: short liveness so a dead process's rows go stale quickly
FAST_HEARTBEAT = {"E2E_HEARTBEAT": "0.2", "E2E_STALE": "1.0"}


def diff(joins: dict[str, str] | None = None, leaves: dict[str, str] | None = None) -> dict[str, object]:
    """A presence diff of room:1, from ``{key: name}`` maps."""
    return {
        "type": "PRESENCE",
        "topic": "room:1",
        "joins": {key: {"name": name} for key, name in (joins or {}).items()},
        "leaves": {key: {"name": name} for key, name in (leaves or {}).items()},
    }


async def test_presence_crosses_processes_and_survives_a_crash(cluster: Cluster) -> None:
    a = await cluster.start("A", **FAST_HEARTBEAT)
    b = await cluster.start("B", **FAST_HEARTBEAT)
    alice = await cluster.django("e2e", "login", "alice")
    bob = await cluster.django("e2e", "login", "bob")
    carol = await cluster.django("e2e", "login", "carol")

    alice_on_a = await cluster.connect(a, "/rooms/", alice)
    reply = await request(alice_on_a, {"type": "JOIN", "topic": "room:1", "ref": 1})
    assert (reply["type"], reply["data"]["pid"], list(reply["presence"].values())) == (
        "JOINED",
        a.pid,
        [{"name": "alice"}],
    )
    alice_key = next(iter(reply["presence"]))

    bob_on_b = await cluster.connect(b, "/rooms/", bob)
    reply = await request(bob_on_b, {"type": "JOIN", "topic": "room:1", "ref": 1})
    assert sorted(meta["name"] for meta in reply["presence"].values()) == ["alice", "bob"]
    bob_key = next(key for key, meta in reply["presence"].items() if meta["name"] == "bob")
    assert await receive(alice_on_a) == diff(joins={bob_key: "bob"})  # from B, through Redis

    bob_on_a = await cluster.connect(a, "/rooms/", bob)  # bob's second tab, on the other process
    await request(bob_on_a, {"type": "JOIN", "topic": "room:1"})
    carol_on_b = await cluster.connect(b, "/rooms/", carol)
    reply = await request(carol_on_b, {"type": "JOIN", "topic": "room:1"})
    carol_key = next(key for key, meta in reply["presence"].items() if meta["name"] == "carol")
    # bob's second tab made no diff: carol's arrival is the next thing alice sees
    assert await receive(alice_on_a) == diff(joins={carol_key: "carol"})
    assert await receive(bob_on_a) == diff(joins={carol_key: "carol"})

    anonymous = await cluster.connect(a, "/rooms/")
    refused = await request(anonymous, {"type": "JOIN", "topic": "room:private", "ref": 9})
    assert (refused["type"], refused["code"], refused["ref"]) == ("ERROR", "forbidden", 9)

    b.kill()  # carol's only socket and one of bob's two go with it

    # A's sweep prunes B's rows: carol leaves; bob, still on A, does not
    assert await receive(alice_on_a, within=20) == diff(leaves={carol_key: "carol"})
    assert await receive(bob_on_a) == diff(leaves={carol_key: "carol"})
    reply = await request(alice_on_a, {"type": "LEAVE", "topic": "room:1", "ref": 2})
    assert reply == {"type": "LEFT", "topic": "room:1", "ref": 2}
    assert await receive(bob_on_a) == diff(leaves={alice_key: "alice"})
    rejoined = await request(alice_on_a, {"type": "JOIN", "topic": "room:1", "ref": 3})
    assert sorted(meta["name"] for meta in rejoined["presence"].values()) == ["alice", "bob"]
