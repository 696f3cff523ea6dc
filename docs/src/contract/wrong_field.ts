// Must NOT compile: `txt` is not a member of the chat's `say` frame (its field is `text`).
import { connect } from "../../../src/wsroute_django/static/wsroute/wsroute.js";
import type { ChatConsumer } from "../../contract/example";

const chat = connect<ChatConsumer>("/ws/chat/lobby/", { key: "event" });
chat.request("say", { txt: "hi" });
