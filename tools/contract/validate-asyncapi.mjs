// Validate AsyncAPI documents with the official parser (the AsyncAPI 3.0 JSON Schema from
// @asyncapi/specs, plus its rules: every $ref resolves, operation messages belong to their
// channel, ...). Prints one line per finding; exits 1 if any document has an error or warning.
//
//     node tools/contract/validate-asyncapi.mjs docs/contract/asyncapi.json ...
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

// "a newer AsyncAPI version exists": a hint, and the documents are 3.0 on purpose
const IGNORED = new Set(["asyncapi-latest-version"]);
const SEVERITY = ["error", "warning", "info", "hint"];

const parser = new Parser();
let failed = false;
for (const path of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"));
  const findings = diagnostics.filter((d) => d.severity <= 1 && !IGNORED.has(d.code));
  for (const d of findings) {
    console.log(`${path}: ${SEVERITY[d.severity]} ${d.code} at ${d.path.join("/") || "/"}: ${d.message}`);
  }
  if (!document || findings.length) failed = true;
  else console.log(`${path}: valid AsyncAPI ${document.version()}`);
}
process.exit(failed ? 1 : 0);
