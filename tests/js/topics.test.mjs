// wsroute.js topics against a scripted server: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { connect } from "../../src/wsroute_django/static/wsroute/wsroute.js";

/** A WebSocket stand-in: the test plays the server, frame by frame. */
class FakeSocket {
  static all = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.waiters = [];
    FakeSocket.all.push(this);
    setTimeout(() => this.open(), 0);
  }

  open() {
    this.readyState = 1;
    this.onopen?.();
  }

  send(text) {
    const frame = JSON.parse(text);
    this.sent.push(frame);
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** The next frame the client sends (waits for it). */
  async next() {
    while (this.sent.length === 0) await new Promise((resolve) => this.waiters.push(resolve));
    return this.sent.shift();
  }

  reply(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  close(code = 1000) {
    this.readyState = 3;
    this.onclose?.({ code, reason: "", wasClean: true });
  }

  /** The server goes away. */
  drop() {
    this.close(1006);
  }
}

function client() {
  FakeSocket.all = [];
  return connect("ws://test/ws/", { WebSocket: FakeSocket, minDelay: 1, maxDelay: 2, jitter: 0 });
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function latest() {
  while (FakeSocket.all.length === 0 || FakeSocket.all.at(-1).readyState !== 1) await tick();
  return FakeSocket.all.at(-1);
}

test("join resolves with the reply and fills the presence", async () => {
  const socket = client();
  const room = socket.topic("room:1", { payload: { password: "x" } });
  const joined = [];
  room.presence.onJoin((key, meta) => joined.push([key, meta.name]));
  const joining = room.join();
  const server = await latest();
  const frame = await server.next();
  assert.deepEqual(frame, { password: "x", topic: "room:1", type: "JOIN", ref: frame.ref });
  server.reply({ type: "JOINED", topic: "room:1", presence: { "user:1": { name: "ada" } }, data: { motd: "hi" }, ref: frame.ref });
  const reply = await joining;
  assert.equal(reply.type, "JOINED");
  assert.equal(room.state, "joined");
  assert.deepEqual(room.data, { motd: "hi" });
  assert.deepEqual(joined, [["user:1", "ada"]]);
  assert.equal(socket.topic("room:1"), room);
  socket.close();
});

test("diffs and topic frames reach the topic's listeners only", async () => {
  const socket = client();
  const room = socket.topic("room:1");
  const other = socket.topic("room:2");
  const said = [];
  const left = [];
  room.on("SAID", (frame) => said.push(frame.text));
  other.on("SAID", (frame) => said.push(`wrong room: ${frame.text}`));
  room.presence.onLeave((key) => left.push(key));
  const joining = room.join();
  const server = await latest();
  const frame = await server.next();
  server.reply({ type: "JOINED", topic: "room:1", presence: { "user:1": {} }, ref: frame.ref });
  await joining;

  server.reply({ type: "PRESENCE", topic: "room:1", joins: { "user:2": { name: "bob" } }, leaves: {} });
  server.reply({ type: "SAID", topic: "room:1", text: "hello" });
  server.reply({ type: "SAID", topic: "room:2", text: "not joined" });
  server.reply({ type: "PRESENCE", topic: "room:1", joins: {}, leaves: { "user:2": {}, "user:9": {} } });

  assert.deepEqual(said, ["hello"]);
  assert.deepEqual(left, ["user:2"]); // user:9 was never there
  assert.deepEqual(room.presence.keys(), ["user:1"]);
  socket.close();
});

test("a refused join rejects and is not retried after a reconnect", async () => {
  const socket = client();
  const room = socket.topic("room:staff");
  const joining = room.join();
  let server = await latest();
  const frame = await server.next();
  server.reply({ type: "ERROR", code: "forbidden", detail: "staff only", ref: frame.ref });
  await assert.rejects(joining, (error) => error.code === "forbidden");
  assert.equal(room.state, "rejected");

  server.drop();
  server = await latest();
  socket.send("PING");
  assert.deepEqual(await server.next(), { type: "PING" }); // no JOIN before it
  socket.close();
});

test("after a reconnect the topic joins again and reconciles presence", async () => {
  const socket = client();
  const room = socket.topic("room:1");
  const events = [];
  room.presence.onJoin((key) => events.push(`+${key}`));
  room.presence.onLeave((key) => events.push(`-${key}`));
  const joining = room.join();
  let server = await latest();
  let frame = await server.next();
  server.reply({ type: "JOINED", topic: "room:1", presence: { "user:1": {}, "user:2": {} }, ref: frame.ref });
  await joining;

  server.drop();
  assert.equal(room.state, "closed");
  server = await latest();
  frame = await server.next();
  assert.equal(frame.type, "JOIN");
  // user:2's process died meanwhile; user:3 came
  server.reply({ type: "JOINED", topic: "room:1", presence: { "user:1": {}, "user:3": {} }, ref: frame.ref });
  while (room.state !== "joined") await tick();
  assert.deepEqual(events, ["+user:1", "+user:2", "+user:3", "-user:2"]);
  socket.close();
});

test("a join that fails for a passing reason is retried with backoff", async () => {
  const socket = client();
  const room = socket.topic("room:1", { minDelay: 1, maxDelay: 5 });
  const errors = [];
  room.onError((error) => errors.push(error.code));
  const joining = room.join();
  const server = await latest();
  let frame = await server.next();
  server.reply({ type: "ERROR", code: "server_error", detail: "internal server error", ref: frame.ref });
  await assert.rejects(joining, (error) => error.code === "server_error");

  frame = await server.next(); // the retry
  assert.equal(frame.type, "JOIN");
  server.reply({ type: "JOINED", topic: "room:1", presence: {}, ref: frame.ref });
  while (room.state !== "joined") await tick();
  assert.deepEqual(errors, ["server_error"]);

  const leaving = room.leave();
  frame = await server.next();
  assert.deepEqual(frame, { topic: "room:1", type: "LEAVE", ref: frame.ref });
  server.reply({ type: "LEFT", topic: "room:1", ref: frame.ref });
  await leaving;
  assert.equal(room.state, "closed");
  socket.close();
});

test("the event style speaks lower case", async () => {
  FakeSocket.all = [];
  const socket = connect("ws://test/ws/", { key: "event", WebSocket: FakeSocket });
  const room = socket.topic("game-7");
  const joining = room.join();
  const server = await latest();
  const frame = await server.next();
  assert.equal(frame.event, "join");
  server.reply({ event: "joined", topic: "game-7", presence: {}, ref: frame.ref });
  await joining;
  const seen = [];
  room.presence.onJoin((key) => seen.push(key));
  server.reply({ event: "presence", topic: "game-7", joins: { "socket:4": {} }, leaves: {} });
  assert.deepEqual(seen, ["socket:4"]);
  socket.close();
});
