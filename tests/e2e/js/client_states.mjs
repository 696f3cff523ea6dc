// Drives wsroute.js in Node: `node client_states.mjs <wsroute.js path> <ws url> <scenario>`.
// Prints one JSON line per state change or request outcome, then exits; a client stuck in a
// state never exits, and the test's subprocess timeout reports it.
const [modulePath, url, scenario] = process.argv.slice(2);
const { connect } = await import(modulePath);
const print = (event) => console.log(JSON.stringify(event));

const options = scenario === "retry" ? { minDelay: 10, maxDelay: 20 } : { reconnect: false };
const client = connect(url, options);
let settled = null;

client.on("state", (state, info) => {
  print({ state, ...info });
  if (scenario === "retry" && state === "connecting" && info.attempt === 1) client.close();
  if (state === "closed" && info.reconnectIn === null) settled.then(() => process.exit(0));
});

const request = client.request("PING", {}, { timeout: 600_000 });
settled = request.then(
  (frame) => print({ reply: frame.type }),
  (error) => print({ rejected: error.code }),
);
if (scenario === "open") settled.then(() => client.close());
