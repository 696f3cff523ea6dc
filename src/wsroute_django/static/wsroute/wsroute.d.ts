/**
 * Types for wsroute.js. TypeScript reads this file for `import ... from ".../wsroute.js"`.
 *
 * Without a type argument every frame is a plain object. With an interface written by
 * `manage.py wsroute_typescript`, frame names, payloads, replies and listeners are checked:
 *
 *     import { connect } from "/static/wsroute/wsroute.js";
 *     import type { ChatConsumer } from "./wsroute-types";
 *
 *     const chat = connect<ChatConsumer>("/ws/chat/lobby/", { key: "event" });
 *     const sent = await chat.request("say", { text: "hi" });  // a misspelt member does not compile
 *     chat.on("message", (frame) => console.log(frame.name, frame.text));
 *
 * @module wsroute
 */

/** A correlation id: a string of at most 128 characters, or an integer. */
export type Ref = string | number;

/** A frame nothing more is known about. */
export type Frame = { [member: string]: any };

/** What `manage.py wsroute_typescript` says about one consumer. */
export interface Protocol {
  /** the routing key: `"type"`, `"event"` or the consumer's own `type_key` */
  key: string;
  /** client frames by name, routing key included */
  requests: { [name: string]: object };
  /** names routed by a regular expression (`` `GAME_${string}` ``) or a default route (`string`); `never` if none */
  other: string;
  /** the reply to each request, by the request's name */
  replies: { [name: string]: object };
  /** every frame the server sends, by name, error frames included */
  events: { [name: string]: object };
}

/** The protocol of an untyped client: any name, any payload, any frame. */
export interface AnyProtocol {
  key: string;
  requests: {};
  other: string;
  replies: {};
  events: { [name: string]: Frame };
}

/** A frame's members without the routing key and `ref`, which `send()` and `request()` add. */
export type Payload<F, K extends PropertyKey> = { [M in keyof F as M extends K | "ref" ? never : M]: F[M] };

/** The names a client may send: the routes' names, and what regex and default routes accept. */
export type RequestName<P extends Protocol> = (keyof P["requests"] & string) | P["other"];

/** The payload of frame `N`. */
export type PayloadOf<P extends Protocol, N> = N extends keyof P["requests"]
  ? Payload<P["requests"][N], P["key"]>
  : { [member: string]: unknown };

/** Any frame the server sends. */
export type Incoming<P extends Protocol> = P["events"][keyof P["events"]];

/** What `request(N)` resolves with: the route's reply, or, without a declared reply, any frame. */
export type ReplyOf<P extends Protocol, N> = N extends keyof P["replies"] ? P["replies"][N] : Incoming<P>;

/** `request()` options. */
export interface RequestOptions {
  /** in ms (default: the client's `timeout`) */
  timeout?: number;
}

type PayloadArgs<P extends Protocol, N> = {} extends PayloadOf<P, N>
  ? [payload?: PayloadOf<P, N>]
  : [payload: PayloadOf<P, N>];
type RequestArgs<P extends Protocol, N> = {} extends PayloadOf<P, N>
  ? [payload?: PayloadOf<P, N>, options?: RequestOptions]
  : [payload: PayloadOf<P, N>, options?: RequestOptions];

/** The client's connection state. */
export type State = "connecting" | "open" | "closed";

/** What `on("state", fn)` listeners get with the state. */
export interface StateInfo {
  /** "connecting": how many attempts failed before this one */
  attempt?: number;
  /** "closed": the close code (1006 when the connection was lost without a close frame) */
  code?: number;
  /** "closed": the close reason, if the server sent one */
  reason?: string;
  /** "closed": whether the close handshake completed */
  wasClean?: boolean;
  /** "closed": ms until the next attempt, or null when the client will not reconnect */
  reconnectIn?: number | null;
}

export interface ConnectOptions<K extends string = string> {
  /** the routing key: `"type"` (the default) for SocketRouter and RoutedSocketHandler, `"event"` for JSONWebSocket */
  key?: K;
  /** the routing-key value of error frames; `"ERROR"` when `key` is `"type"`, else `"error"` */
  errorValue?: string;
  /** reconnect after an unexpected close (default true) */
  reconnect?: boolean;
  /** the first reconnect delay, in ms (default 250) */
  minDelay?: number;
  /** the longest reconnect delay, in ms (default 10000) */
  maxDelay?: number;
  /** each failed attempt multiplies the delay by this (default 2) */
  factor?: number;
  /** a random fraction, up to this, is taken off each delay (default 0.5) */
  jitter?: number;
  /** whether to reconnect after a close with this code; by default not after 4401 and 4403 */
  shouldReconnect?: (code: number) => boolean;
  /** the default `request()` timeout, in ms (default 10000) */
  timeout?: number;
  /** how many frames may wait while disconnected (default 100) */
  maxQueue?: number;
  /** if > 0, send `{<key>: heartbeatType}` every this many ms while open (default 0: nothing) */
  heartbeat?: number;
  /** the heartbeat frame's name; `"PING"` when `key` is `"type"`, else `"ping"` */
  heartbeatType?: string;
  /** WebSocket subprotocols */
  protocols?: string | string[];
  /** the WebSocket class (default: the global one) */
  WebSocket?: typeof WebSocket;
}

/** `connect()`'s options: `key` is required when the consumer's routing key is not `"type"`. */
type ConnectArgs<P extends Protocol> = string extends P["key"]
  ? [options?: ConnectOptions]
  : P["key"] extends "type"
    ? [options?: ConnectOptions<"type">]
    : [options: ConnectOptions<P["key"]> & { key: P["key"] }];

/**
 * An error frame from the server, or a request that failed on this side: `code` is the
 * server's error code, or one of `"timeout"`, `"disconnected"`, `"closed"`, `"queue_full"`.
 */
export class WsrouteError extends Error {
  constructor(code: string, detail: string, frame?: Frame);
  code: string;
  detail: string;
  /** the error frame as received */
  frame: Frame | undefined;
  /** pydantic's error list, for `validation_error` */
  errors: Array<Frame> | undefined;
}

/** Open a socket and keep it open. */
export function connect<P extends Protocol = AnyProtocol>(url: string, ...options: ConnectArgs<P>): Client<P>;

/** A reconnecting wsroute socket. Create it with {@link connect}. */
export class Client<P extends Protocol = AnyProtocol> {
  constructor(url: string, options?: ConnectOptions);
  /** the socket's absolute URL */
  url: string;
  /** the routing key */
  key: P["key"];
  /** the routing-key value of error frames */
  errorValue: string;
  state: State;
  /** Send a frame `{<key>: type, ...payload}`; true if sent now, false if queued. */
  send<N extends RequestName<P>>(type: N, ...payload: PayloadArgs<P, N>): boolean;
  /** Send a frame with a fresh `ref` and wait for the frame that carries it back. */
  request<N extends RequestName<P>>(type: N, ...args: RequestArgs<P, N>): Promise<ReplyOf<P, N>>;
  /** Connection state changes. */
  on(type: "state", fn: (state: State, info: StateInfo) => void): () => void;
  /** Every frame. */
  on(type: "*", fn: (frame: Incoming<P>) => void): () => void;
  /** Frames named `type`. */
  on<N extends keyof P["events"] & string>(type: N, fn: (frame: P["events"][N]) => void): () => void;
  /** Remove a listener added with `on()`. */
  off(type: string, fn: Function): void;
  /** Close the socket for good: no reconnect. */
  close(code?: number, reason?: string): void;
  /** The topic `name` on this socket (the same object for the same name). */
  topic(name: string, options?: TopicOptions): Topic;
}

export interface TopicOptions {
  /** extra fields of the join frame (the server's join hook reads them) */
  payload?: Frame;
  /** the join request's timeout, in ms (default: the client's) */
  timeout?: number;
  /** the first delay before retrying a failed rejoin, in ms (default 1000) */
  minDelay?: number;
  /** the longest delay between rejoin attempts, in ms (default 30000) */
  maxDelay?: number;
}

/** Who is in a topic: one entry per presence key (a user, or an anonymous socket). */
export class Presence {
  constructor();
  /** presence key -> metadata, as the join reply and the diffs since say */
  state: { [key: string]: Frame };
  /** the members' keys */
  keys(): string[];
  /** `[key, metadata]` of every member */
  list(): Array<[string, Frame]>;
  /** `fn(key, metadata)` when a user's first socket joined. */
  onJoin(fn: (key: string, meta: Frame) => void): () => void;
  /** `fn(key, metadata)` when a user's last socket left. */
  onLeave(fn: (key: string, meta: Frame) => void): () => void;
  /** `fn(state)` after every change, the join's state included. */
  onSync(fn: (state: { [key: string]: Frame }) => void): () => void;
}

/** A topic a client joins; rejoined after a reconnect. Get it with {@link Client.topic}. */
export class Topic {
  constructor(client: Client<any>, name: string, options: TopicOptions);
  name: string;
  state: "closed" | "joining" | "joined" | "rejected" | "leaving";
  /** why the last join failed */
  error: WsrouteError | null;
  /** the last join reply's `data` */
  data: Frame | null;
  presence: Presence;
  /** Join: resolves with the reply (`{topic, presence, data?, ref}`), rejects with a WsrouteError. */
  join(): Promise<Frame>;
  /** Leave: resolves with the reply, or null when the topic was not joined. */
  leave(): Promise<Frame | null>;
  /** Frames named `event` delivered through this topic. */
  on(event: string, fn: (frame: Frame) => void): () => void;
  /** `fn(reply)` after every successful join, rejoins included. */
  onJoin(fn: (reply: Frame) => void): () => void;
  /** `fn(error)` when a join or rejoin fails. */
  onError(fn: (error: WsrouteError) => void): () => void;
  /** Send `{<key>: event, topic: <name>, ...payload}`. */
  send(event: string, payload?: Frame): boolean;
  /** Send with a fresh ref and wait for the reply. */
  request(event: string, payload?: Frame, options?: RequestOptions): Promise<Frame>;
}
