// A page script using the example project's generated types: `tsc --strict` accepts it.
import { connect, WsrouteError } from "../../../src/wsroute_django/static/wsroute/wsroute.js";
import type { ChatConsumer, TableSocket, TableWatchers } from "../../contract/example";

// --8<-- [start:chat]
const chat = connect<ChatConsumer>("/ws/chat/lobby/?name=ada", { key: "event" });

chat.on("message", (frame) => console.log(`${frame.name}: ${frame.text}`));
chat.on("who", (frame) => console.log(frame.names.join(", ")));
chat.on("state", (state, info) => console.log(state, info.code));

async function say(text: string): Promise<void> {
  try {
    const reply = await chat.request("say", { text });  // the reply is a Sent: {event: "sent"}
    console.log(reply.event === "sent");
  } catch (error) {
    if (error instanceof WsrouteError && error.code === "validation_error") console.log(error.errors);
  }
}
// --8<-- [end:chat]

// --8<-- [start:table]
const table = connect<TableSocket>("/ws/table/");

table.on("STATE", (state) => console.log(state.board.join(""), state.turn, state.seats.X));
table.request("GAME_MOVE", { cell: 4 }).then((ok) => console.log(ok.type));  // "OK"
table.send("GAME_SIT");  // a regex route (GAME_(.+)): any GAME_... name is accepted
// --8<-- [end:table]

// --8<-- [start:topics]
const watch = connect<TableWatchers>("/ws/table/watch/");
const spectators = watch.topic("table");
spectators.presence.onJoin((key, meta) => console.log(`${key} is watching`, meta));
spectators.presence.onLeave((key) => console.log(`${key} left`));
spectators.join().then((reply) => console.log(reply.presence, spectators.presence.keys().length));
// --8<-- [end:topics]

export { say };
