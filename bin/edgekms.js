#!/usr/bin/env node
// The `edgekms` command (package.json "bin", run by `npx edgekms`). The CLI itself is
// dist/cli/edgekms.js (built by `npm run build`, which `npm install` runs) and needs Node 22.12 or
// later. npx runs this file with whichever node the shell finds; where that is older (Debian's
// Node 20), the CLI runs under the clone's own Node 22 (the `node` dev dependency) instead, with
// stdin, stdout and stderr handed over as they are (pipes stream through) and its exit status,
// or the signal that ended it, passed back. No engine check, so no warning: this is the check.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The oldest Node the CLI runs on (as wrangler and the build tools need). */
const MIN_NODE = [22, 12];
const cli = fileURLToPath(new URL("../dist/cli/edgekms.js", import.meta.url));
const projectNode = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
const [major, minor] = process.versions.node.split(".").map(Number);
const recentEnough = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);

if (!existsSync(cli)) {
  console.error(`edgekms: ${cli} is missing: run \`npm run build\` in the EdgeKMS clone first.`);
  process.exit(1);
} else if (recentEnough) {
  await import(cli); // runs the CLI in this process; it exits with its status
} else if (existsSync(projectNode)) {
  const child = spawn(projectNode, [cli, ...process.argv.slice(2)], { stdio: "inherit" });
  // A terminal's Ctrl-C reaches both processes; a signal sent to this one alone is passed on.
  const forward = (signal) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, forward);
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  console.error(`edgekms needs Node ${MIN_NODE.join(".")} or later, and this is Node ${process.versions.node}. A clone of EdgeKMS brings Node 22 with npm install (the \`node\` dev dependency).`);
  process.exit(1);
}
