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

function absoluteUrl(url) {
  const base = typeof location === "undefined" ? undefined : location.href;
  const resolved = new URL(url, base);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  if (resolved.protocol === "https:") resolved.protocol = "wss:";
  return resolved.href;
}
