// One wrk run in a worker thread (runWrk blocks its thread while wrk runs), so that
// bench/paired.ts can drive several servers at the same moment.
import { parentPort, workerData } from "node:worker_threads";
import { runWrk } from "./wrk.ts";

const { wrk, url, conns, seconds, script } = workerData as { wrk: string; url: string; conns: number; seconds: string; script: string };
parentPort!.postMessage(runWrk(wrk, url, conns, seconds, script));
