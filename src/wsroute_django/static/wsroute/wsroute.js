/**
 * wsroute.js: a small browser client for wsroute sockets. No dependencies, no build step.
 *
 *     import { connect } from "/static/wsroute/wsroute.js";
 *
 *     const chat = connect("/ws/chat/lobby/", { key: "event" });
 *     chat.on("message", (frame) => console.log(frame.name, frame.text));
 *     chat.on("state", (state, info) => console.log(state, info.code));
 *     chat.send("say", { text: "hi" });
 *     const reply = await chat.request("who");          // the frame carrying the same ref
 *
 * Frames are JSON objects; the routing key (`type` or `event`) names them. `request()` adds
 * a `ref` and settles on the first frame that carries it back: resolved with a reply,
 * rejected with a {@link WsrouteError} on an error frame (`{<key>: "ERROR"|"error", code,
 * detail, ref}`), on timeout, or when the connection drops before the reply arrives.
 *
 * While the socket is not open, `send()` and `request()` are QUEUED (up to `maxQueue`
 * frames) and sent, in order, as soon as the connection opens again; a request's timeout
 * runs from the call, so a request that waits too long in the queue is rejected and never
 * sent. A full queue, or a client closed with `close()`, throws (`send`) or rejects
 * (`request`) with the code `"queue_full"` or `"closed"`.
 *
 * After an unexpected close the client reconnects by itself, with exponential backoff and
 * jitter, capped at `maxDelay`; not after `close()`, and not after close codes for which
 * `shouldReconnect(code)` is false (by default 4401 login required and 4403 rejected,
 * which a retry cannot fix).
 *
 * @module wsroute
 */

/**
 * @typedef {Object} ConnectOptions
 * @property {"type"|"event"|string} [key="type"] the routing key: `"type"` for SocketRouter and
 *   RoutedSocketHandler consumers, `"event"` for JSONWebSocket ones.
 * @property {string} [errorValue] the routing-key value of error frames; `"ERROR"` when `key`
 *   is `"type"`, else `"error"`.
 * @property {boolean} [reconnect=true] reconnect after an unexpected close.
 * @property {number} [minDelay=250] the first reconnect delay, in ms.
 * @property {number} [maxDelay=10000] the longest reconnect delay, in ms.
 * @property {number} [factor=2] each failed attempt multiplies the delay by this.
 * @property {number} [jitter=0.5] a random fraction, up to this, is taken off each delay, so
 *   that many clients dropped at once do not all come back at the same moment.
 * @property {(code: number) => boolean} [shouldReconnect] whether to reconnect after a
 *   close with this code; by default not after 4401 and 4403.
 * @property {number} [timeout=10000] the default `request()` timeout, in ms.
 * @property {number} [maxQueue=100] how many frames may wait while disconnected.
 * @property {number} [heartbeat=0] if > 0, send `{<key>: heartbeatType}` every this many ms
 *   while open (for servers with HeartbeatMiddleware); 0 sends nothing.
 * @property {string} [heartbeatType] the heartbeat frame's name; `"PING"` when `key` is
 *   `"type"` (answered with PONG by RoutedSocketHandler), else `"ping"`.
 * @property {string|string[]} [protocols] WebSocket subprotocols.
 * @property {typeof WebSocket} [WebSocket] the WebSocket class (default: the global one).
 */

/**
 * What `on("state", fn)` listeners get with the state.
 * @typedef {Object} StateInfo
 * @property {number} [attempt] "connecting": how many attempts failed before this one.
 * @property {number} [code] "closed": the close code (1006 when the connection was lost
 *   without a close frame, e.g. the server went away).
 * @property {string} [reason] "closed": the close reason, if the server sent one.
 * @property {boolean} [wasClean] "closed": whether the close handshake completed.
 * @property {number|null} [reconnectIn] "closed": ms until the next attempt, or null when
 *   the client will not reconnect.
 */

/** Listener names that are not frame names: connection state changes, and every frame. */
const STATE = "state";
const ANY = "*";
/** WebSocket.OPEN: frames sent in any other ready state would be lost, so they wait in the queue. */
const OPEN = 1;

const DEFAULTS = {
  key: "type",
  errorValue: undefined,
  reconnect: true,
  minDelay: 250,
  maxDelay: 10000,
  factor: 2,
  jitter: 0.5,
  shouldReconnect: (code) => code !== 4401 && code !== 4403,
  timeout: 10000,
  maxQueue: 100,
  heartbeat: 0,
  heartbeatType: undefined,
  protocols: undefined,
  WebSocket: undefined,
};

/**
 * An error frame from the server, or a request that failed on this side.
 *
 * `code` is the server's error code (`validation_error`, `forbidden`, `unknown_type`, ...),
 * or one of the client's own: `"timeout"`, `"disconnected"` (the connection dropped before
 * the reply came), `"closed"` (the client was closed), `"queue_full"`.
 */
export class WsrouteError extends Error {
  /**
   * @param {string} code
   * @param {string} detail
   * @param {Object} [frame] the error frame, when the server sent one
   */
  constructor(code, detail, frame) {
    super(`${code}: ${detail}`);
    this.name = "WsrouteError";
    /** @type {string} */
    this.code = code;
    /** @type {string} */
    this.detail = detail;
    /** @type {Object|undefined} the error frame as received */
    this.frame = frame;
    /** @type {Array|undefined} pydantic's error list, for `validation_error` */
    this.errors = frame ? frame.errors : undefined;
  }
}

/**
 * Open a socket and keep it open.
 *
 * @param {string} url `ws://` or `wss://` URL, or a path such as `"/ws/chat/lobby/"`
 *   (resolved against the page: `wss:` on `https:` pages, `ws:` otherwise).
 * @param {ConnectOptions} [options]
 * @returns {Client}
 */
export function connect(url, options = {}) {
  return new Client(url, options);
}

/** A reconnecting wsroute socket. Create it with {@link connect}. */
export class Client {
  /**
   * @param {string} url
   * @param {ConnectOptions} [options]
   */
  constructor(url, options = {}) {
    const opts = { ...DEFAULTS, ...options };
    /** @type {string} the socket's absolute URL */
    this.url = absoluteUrl(url);
    /** @type {string} the routing key */
    this.key = opts.key;
    /** @type {string} the routing-key value of error frames */
    this.errorValue = opts.errorValue ?? (opts.key === "type" ? "ERROR" : "error");
    /** @type {"connecting"|"open"|"closed"} */
    this.state = "connecting";
    this._opts = opts;
    this._heartbeatType = opts.heartbeatType ?? (opts.key === "type" ? "PING" : "ping");
    this._WebSocket = opts.WebSocket ?? globalThis.WebSocket;
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
    /** @type {Map<number, {resolve: Function, reject: Function, timer: any, sent: boolean}>} */
    this._pending = new Map();
    /** @type {{text: string, ref: number|null}[]} frames waiting for the connection */
    this._queue = [];
    this._nextRef = 1;
    this._attempt = 0;
    this._ws = null;
    this._retryTimer = null;
    this._heartbeatTimer = null;
    this._stopped = false;
    // Opened in a microtask, so that listeners added right after connect() see "connecting".
    queueMicrotask(() => this._open());
  }

  /**
   * Send a frame `{<key>: type, ...payload}`. Nothing comes back unless the server sends it.
   *
   * @param {string} type the frame's name (the value of the routing key)
   * @param {Object} [payload] the other fields
   * @returns {boolean} true if sent now, false if queued until the connection opens
   * @throws {WsrouteError} `"closed"` after `close()`, `"queue_full"` when the queue is full
   */
  send(type, payload = {}) {
    return this._transmit(this._frame(type, payload, null), null);
  }

  /**
   * Send a frame with a fresh `ref` and wait for the frame that carries it back.
   *
   * @param {string} type the frame's name
   * @param {Object} [payload] the other fields
   * @param {{timeout?: number}} [options] `timeout` in ms (default: the client's `timeout`)
   * @returns {Promise<Object>} the reply frame (`ref` included)
   * @throws {WsrouteError} (as a rejection) on an error frame, a timeout, a lost
   *   connection, a closed client or a full queue
   */
  request(type, payload = {}, options = {}) {
    const ref = this._nextRef++;
    const timeout = options.timeout ?? this._opts.timeout;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(ref);
        this._queue = this._queue.filter((item) => item.ref !== ref); // never send it late
        reject(new WsrouteError("timeout", `no reply to ${JSON.stringify(type)} within ${timeout} ms`));
      }, timeout);
      this._pending.set(ref, { resolve, reject, timer, sent: false });
      try {
        this._transmit(this._frame(type, payload, ref), ref);
      } catch (error) {
        this._settle(ref, null, error);
      }
    });
  }

  /**
   * Listen for frames named `type`, or for `"state"` (connection state changes) or `"*"`
   * (every frame). Frame listeners get `(frame)`; state listeners get `(state, info)`.
   *
   * Every frame reaches the listeners of its name and of `"*"`, replies to `request()`
   * included; an error frame that rejects a `request()` reaches only `"*"` listeners, since
   * the caller handles it. A frame named `"state"` or `"*"` reaches only `"*"` listeners.
   *
   * @param {string} type
   * @param {Function} fn
   * @returns {() => void} a function that removes the listener
   */
  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(fn);
    return () => this.off(type, fn);
  }

  /**
   * Remove a listener added with {@link Client#on}.
   * @param {string} type
   * @param {Function} fn
   */
  off(type, fn) {
    const set = this._listeners.get(type);
    if (set) set.delete(fn);
  }

  /**
   * Close the socket for good: no reconnect. Queued frames are dropped and waiting
   * requests rejected with `"closed"`.
   *
   * @param {number} [code=1000]
   * @param {string} [reason]
   */
  close(code = 1000, reason = "") {
    if (this._stopped) return;
    this._stopped = true;
    clearTimeout(this._retryTimer);
    this._failAll("closed", "the client was closed");
    if (this._ws) {
      this._ws.close(code, reason); // its close event reports the state
    } else {
      // not connected (before the first attempt, or waiting to retry): say so now
      this._setState("closed", { code, reason, wasClean: true, reconnectIn: null });
    }
  }

  /**
   * The topic `name` on this socket (the same object for the same name): join it with
   * `topic.join()`, listen with `topic.on(event, fn)`, follow `topic.presence`.
   *
   * @param {string} name e.g. `"room:42"`
   * @param {TopicOptions} [options]
   * @returns {Topic}
   */
  topic(name, options = {}) {
    if (!this._topics) {
      /** @type {Map<string, Topic>} */
      this._topics = new Map();
      this.on(ANY, (frame) => {
        const topic = typeof frame.topic === "string" ? this._topics.get(frame.topic) : undefined;
        if (topic) topic._receive(frame);
      });
      this.on(STATE, (state) => {
        for (const topic of this._topics.values()) topic._connection(state);
      });
    }
    let topic = this._topics.get(name);
    if (!topic) {
      topic = new Topic(this, name, options);
      this._topics.set(name, topic);
    }
    return topic;
  }

  // -- internals ------------------------------------------------------------------------

  _frame(type, payload, ref) {
    const frame = { ...payload, [this.key]: type };
    if (ref !== null) frame.ref = ref;
    return JSON.stringify(frame);
  }

  _transmit(text, ref) {
    if (this._stopped) throw new WsrouteError("closed", "the client was closed");
    if (this._ws && this._ws.readyState === OPEN) {
      this._ws.send(text);
      if (ref !== null) this._pending.get(ref).sent = true;
      return true;
    }
    if (this._queue.length >= this._opts.maxQueue) {
      throw new WsrouteError("queue_full", `${this._queue.length} frames are already waiting for the connection`);
    }
    this._queue.push({ text, ref });
    return false;
  }

  _open() {
    if (this._stopped) return;
    this._setState("connecting", { attempt: this._attempt });
    if (this._stopped) return; // a "connecting" listener called close()
    let ws;
    try {
      ws = new this._WebSocket(this.url, this._opts.protocols);
    } catch (error) {
      // e.g. a malformed URL: no retry will fix it
      this._stopped = true;
      this._failAll("closed", String(error));
      this._setState("closed", { code: 1006, reason: String(error), wasClean: false, reconnectIn: null });
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      this._attempt = 0;
      this._flush(); // queued frames first, before anything an "open" listener sends
      this._setState("open", {});
      if (this._opts.heartbeat > 0) {
        this._heartbeatTimer = setInterval(() => this.send(this._heartbeatType), this._opts.heartbeat);
      }
    };
    ws.onmessage = (event) => this._receive(event.data);
    ws.onclose = (event) => this._closed(event);
    // A refused handshake (HTTP 403, 404, 500): browsers fire "error" then "close", but Node
    // 20's WebSocket fires only "error" and stays CONNECTING. Either way it failed before
    // opening: close it, stop listening to it, and report the close (1006) now.
    ws.onerror = () => {
      if (this._ws !== ws || ws.readyState === OPEN) return; // after opening, "close" follows
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch {
        // already closed
      }
      this._closed({ code: 1006, reason: "", wasClean: false });
    };
  }

  _flush() {
    const queue = this._queue;
    this._queue = [];
    for (const { text, ref } of queue) {
      this._ws.send(text);
      const waiting = ref === null ? undefined : this._pending.get(ref);
      if (waiting) waiting.sent = true;
    }
  }

  _closed(event) {
    this._ws = null;
    clearInterval(this._heartbeatTimer);
    // The server's answer to a request it already received died with the connection.
    for (const [ref, waiting] of this._pending) {
      if (waiting.sent) {
        this._settle(ref, null, new WsrouteError("disconnected", `the connection closed (${event.code}) before the reply`));
      }
    }
    const retry = !this._stopped && this._opts.reconnect && this._opts.shouldReconnect(event.code);
    const delay = retry ? this._backoff() : null;
    if (!retry) {
      this._stopped = true;
      this._failAll("closed", `the connection closed (${event.code})`);
    }
    this._setState("closed", { code: event.code, reason: event.reason, wasClean: event.wasClean, reconnectIn: delay });
    if (retry) this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _backoff() {
    const { minDelay, maxDelay, factor, jitter } = this._opts;
    const base = Math.min(maxDelay, minDelay * factor ** this._attempt);
    this._attempt += 1;
    return Math.round(base * (1 - jitter * Math.random()));
  }

  _receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      console.warn("wsroute: ignoring a frame that is not JSON", data);
      return;
    }
    if (frame === null || typeof frame !== "object" || Array.isArray(frame)) return;
    const name = frame[this.key];
    const isError = name === this.errorValue;
    let handled = false;
    if (frame.ref !== undefined && this._pending.has(frame.ref)) {
      const error = isError ? new WsrouteError(frame.code, frame.detail, frame) : null;
      this._settle(frame.ref, frame, error);
      handled = isError;
    }
    this._emit(ANY, frame);
    if (!handled && typeof name === "string" && name !== STATE && name !== ANY) this._emit(name, frame);
  }

  _settle(ref, frame, error) {
    const waiting = this._pending.get(ref);
    if (!waiting) return;
    this._pending.delete(ref);
    clearTimeout(waiting.timer);
    if (error) waiting.reject(error);
    else waiting.resolve(frame);
  }

  _failAll(code, detail) {
    this._queue = [];
    for (const ref of [...this._pending.keys()]) this._settle(ref, null, new WsrouteError(code, detail));
  }

  _setState(state, info) {
    this.state = state;
    this._emit(STATE, state, info);
  }

  _emit(name, ...args) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (error) {
        console.error(`wsroute: a ${JSON.stringify(name)} listener threw`, error);
      }
    }
  }
}

/**
 * @typedef {Object} TopicOptions
 * @property {Object} [payload] extra fields of the join frame (the server's join hook reads them)
 * @property {number} [timeout] the join request's timeout, in ms (default: the client's)
 * @property {number} [minDelay=1000] the first delay before retrying a failed rejoin, in ms
 * @property {number} [maxDelay=30000] the longest delay between rejoin attempts, in ms
 */

/** Error codes that refuse a join for good: retrying the same join cannot succeed. */
const REFUSALS = new Set(["forbidden", "unknown_topic", "bad_message", "validation_error", "too_many_topics"]);

/**
 * Who is in a topic, per user: `{key: metadata}`, kept from the join reply's state and the
 * server's diffs. A key is `"user:<id>"`, or `"socket:<id>"` for an anonymous socket.
 */
export class Presence {
  constructor() {
    /** @type {Object<string, Object>} the members now */
    this.state = {};
    this._joins = new Set();
    this._leaves = new Set();
    this._syncs = new Set();
  }

  /** @returns {string[]} the members' keys */
  keys() {
    return Object.keys(this.state);
  }

  /** @returns {Array<[string, Object]>} `[key, metadata]` of every member */
  list() {
    return Object.entries(this.state);
  }

  /**
   * `fn(key, metadata)` when a user arrives (their first socket joined; or, after a rejoin,
   * they came while this socket was away). @returns {() => void} removes it
   */
  onJoin(fn) {
    this._joins.add(fn);
    return () => this._joins.delete(fn);
  }

  /** `fn(key, metadata)` when a user's last socket left. @returns {() => void} removes it */
  onLeave(fn) {
    this._leaves.add(fn);
    return () => this._leaves.delete(fn);
  }

  /** `fn(state)` after every change, the join's state included. @returns {() => void} removes it */
  onSync(fn) {
    this._syncs.add(fn);
    return () => this._syncs.delete(fn);
  }

  /** Replace the state with `state` (a join reply's), reporting the differences as joins and leaves. */
  _reset(state) {
    const joins = {};
    const leaves = {};
    for (const [key, meta] of Object.entries(state)) if (!(key in this.state)) joins[key] = meta;
    for (const [key, meta] of Object.entries(this.state)) if (!(key in state)) leaves[key] = meta;
    this.state = { ...state };
    this._report(joins, leaves);
  }

  /** Apply a diff: joins set a key, leaves remove it (one that is not there changes nothing). */
  _apply(joins, leaves) {
    const joined = {};
    const left = {};
    for (const [key, meta] of Object.entries(joins || {})) {
      if (!(key in this.state)) joined[key] = meta;
      this.state[key] = meta;
    }
    for (const [key, meta] of Object.entries(leaves || {})) {
      if (key in this.state) {
        left[key] = this.state[key];
        delete this.state[key];
      }
    }
    this._report(joined, left);
  }

  _clear() {
    this._reset({});
  }

  _report(joins, leaves) {
    for (const [key, meta] of Object.entries(joins)) call(this._joins, key, meta);
    for (const [key, meta] of Object.entries(leaves)) call(this._leaves, key, meta);
    call(this._syncs, this.state);
  }
}

/**
 * A topic of a {@link Client}: get one with `client.topic(name)`.
 *
 * `join()` asks the server to join; after a reconnect the topic joins again by itself
 * (retrying with backoff when the join fails for a passing reason: a timeout, a lost
 * connection, a server error), but a join the server refused (`forbidden`, `unknown_topic`,
 * ...) is not retried: call `join()` again when something changed.
 *
 * `state`: `"closed"` (not joined, not trying), `"joining"`, `"joined"`, `"rejected"`
 * (the server refused; `error` says why), `"leaving"`.
 */
export class Topic {
  /**
   * @param {Client} client
   * @param {string} name
   * @param {TopicOptions} options
   */
  constructor(client, name, options) {
    /** @type {string} */
    this.name = name;
    /** @type {"closed"|"joining"|"joined"|"rejected"|"leaving"} */
    this.state = "closed";
    /** @type {WsrouteError|null} why the last join failed */
    this.error = null;
    /** @type {Object|null} the last join reply's `data` */
    this.data = null;
    /** @type {Presence} */
    this.presence = new Presence();
    this._client = client;
    this._opts = { payload: {}, timeout: undefined, minDelay: 1000, maxDelay: 30000, ...options };
    const events = client.key === "type" ? ["JOIN", "LEAVE", "PRESENCE"] : ["join", "leave", "presence"];
    [this._joinEvent, this._leaveEvent, this._presenceEvent] = events;
    this._listeners = new Map();
    this._joinListeners = new Set();
    this._errorListeners = new Set();
    this._wanted = false;
    this._attempt = 0;
    this._retryTimer = null;
    this._joining = null;
  }

  /**
   * Join the topic. Resolves with the server's reply (`{topic, presence, data?, ref}`);
   * rejects with a {@link WsrouteError} when this join fails (`forbidden`, `timeout`...).
   * Joining a joined topic resolves with the last reply's frame at once.
   *
   * @returns {Promise<Object>}
   */
  join() {
    this._wanted = true;
    clearTimeout(this._retryTimer);
    if (this.state === "joined") return Promise.resolve(this._reply);
    if (this._joining) return this._joining;
    return this._attempt_join();
  }

  /**
   * Leave the topic (and stop rejoining it). Resolves with the server's reply, or `null`
   * when the topic was not joined.
   *
   * @returns {Promise<Object|null>}
   */
  async leave() {
    this._wanted = false;
    clearTimeout(this._retryTimer);
    if (this.state !== "joined") {
      this._setState("closed");
      return null;
    }
    this._setState("leaving");
    try {
      return await this._client.request(this._leaveEvent, { topic: this.name });
    } finally {
      this._setState("closed");
      this.presence._clear();
    }
  }

  /**
   * Listen for frames of this topic named `event` (`"*"`: every frame of the topic).
   * @param {string} event
   * @param {(frame: Object) => void} fn
   * @returns {() => void} removes the listener
   */
  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(fn);
    return () => this._listeners.get(event).delete(fn);
  }

  /** `fn(reply)` after every successful join, rejoins included. @returns {() => void} removes it */
  onJoin(fn) {
    this._joinListeners.add(fn);
    return () => this._joinListeners.delete(fn);
  }

  /** `fn(error)` when a join or rejoin fails. @returns {() => void} removes it */
  onError(fn) {
    this._errorListeners.add(fn);
    return () => this._errorListeners.delete(fn);
  }

  /**
   * Send `{<key>: event, topic: <name>, ...payload}` (as {@link Client#send}).
   * @returns {boolean}
   */
  send(event, payload = {}) {
    return this._client.send(event, { ...payload, topic: this.name });
  }

  /**
   * Send `{<key>: event, topic: <name>, ...payload}` and wait for the reply (as {@link Client#request}).
   * @returns {Promise<Object>}
   */
  request(event, payload = {}, options = {}) {
    return this._client.request(event, { ...payload, topic: this.name }, options);
  }

  // -- internals ------------------------------------------------------------------------

  _attempt_join() {
    this._setState("joining");
    const payload = { ...this._opts.payload, topic: this.name };
    const options = this._opts.timeout === undefined ? {} : { timeout: this._opts.timeout };
    const joining = this._client.request(this._joinEvent, payload, options).then(
      (reply) => {
        this._joining = null;
        this._attempt = 0;
        if (!this._wanted) {
          // leave() was called while the join was on its way
          this._client.request(this._leaveEvent, { topic: this.name }).catch(() => {});
          this._setState("closed");
          return reply;
        }
        this._reply = reply;
        this.error = null;
        this.data = reply.data ?? null;
        this._setState("joined");
        this.presence._reset(reply.presence || {});
        call(this._joinListeners, reply);
        return reply;
      },
      (error) => {
        this._joining = null;
        this.error = error;
        if (error.code === "already_joined") {
          // the server kept us after a reply this side gave up on: leave, then join afresh
          this._setState("closed");
          const rejoin = () => this._retry();
          this._client.request(this._leaveEvent, { topic: this.name }).then(rejoin, rejoin);
        } else if (REFUSALS.has(error.code)) {
          this._wanted = false;
          this._setState("rejected");
        } else {
          this._setState("closed");
          this._retry();
        }
        call(this._errorListeners, error);
        throw error;
      },
    );
    this._joining = joining;
    return joining;
  }

  _retry() {
    if (!this._wanted || this._client.state !== "open") return; // the next "open" rejoins
    const { minDelay, maxDelay } = this._opts;
    const delay = Math.min(maxDelay, minDelay * 2 ** this._attempt) * (1 - 0.5 * Math.random());
    this._attempt += 1;
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => {
      if (this._wanted && this.state === "closed" && !this._joining) this._attempt_join().catch(() => {});
    }, delay);
  }

  _connection(state) {
    if (state === "closed" && (this.state === "joined" || this.state === "leaving")) {
      this._setState("closed"); // the server forgot us with the connection; presence is kept until the rejoin
    } else if (state === "open" && this._wanted && this.state === "closed" && !this._joining) {
      clearTimeout(this._retryTimer);
      this._attempt_join().catch(() => {});
    }
  }

  _receive(frame) {
    const name = frame[this._client.key];
    if (this.state !== "joined" || typeof name !== "string") return;
    if (name === this._presenceEvent) {
      this.presence._apply(frame.joins, frame.leaves);
      return;
    }
    if (frame.ref !== undefined) return; // a reply to this socket's own request
    call(this._listeners.get(name), frame);
    call(this._listeners.get(ANY), frame);
  }

  _setState(state) {
    this.state = state;
  }
}

function call(listeners, ...args) {
  if (!listeners) return;
  for (const fn of [...listeners]) {
    try {
      fn(...args);
    } catch (error) {
      console.error("wsroute: a topic listener threw", error);
    }
  }
}

function absoluteUrl(url) {
  const base = typeof location === "undefined" ? undefined : location.href;
  const resolved = new URL(url, base);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  if (resolved.protocol === "https:") resolved.protocol = "wss:";
  return resolved.href;
}
