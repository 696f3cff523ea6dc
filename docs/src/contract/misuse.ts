// Compiles only if every line after a @ts-expect-error is a type error: what the types catch.
import { connect } from "../../../src/wsroute_django/static/wsroute/wsroute.js";
import type { ChatConsumer, TableSocket, TableWatchers } from "../../contract/example";

const chat = connect<ChatConsumer>("/ws/chat/lobby/", { key: "event" });
// @ts-expect-error the chat routes on "event": connect() needs { key: "event" }
connect<ChatConsumer>("/ws/chat/lobby/");
// @ts-expect-error a misspelt member
chat.send("say", { txt: "hi" });
// @ts-expect-error a missing member
chat.request("say", {});
// @ts-expect-error a member of the wrong type
chat.send("say", { text: 42 });
// @ts-expect-error no such route, and the chat has no default route
chat.send("shout", { text: "hi" });
// @ts-expect-error no such member on a "message" frame
chat.on("message", (frame) => frame.nme);
// @ts-expect-error the server sends no "shouted" frame
chat.on("shouted", () => {});
chat.request("say", { text: "hi" }).then((reply) => {
  // @ts-expect-error the reply to "say" is {event: "sent"}
  console.log(reply.text);
});

const table = connect<TableSocket>("/ws/table/");
// @ts-expect-error cell is a number
table.send("GAME_MOVE", { cell: "4" });
table.send("ANYTHING");  // the table has a default route: any name is routed
const watch = connect<TableWatchers>("/ws/table/watch/");
// @ts-expect-error watchers only answer PING
watch.send("GAME_MOVE", { cell: 4 });

const untyped = connect("/ws/other/");
untyped.send("whatever", { any: "thing" });  // without a type argument, anything goes
untyped.on("whatever", (frame) => console.log(frame.any));
