// Deno 2.9 does not implement `parentPort.removeAllListeners` in node:worker_threads. vitest
// calls it when a worker shuts down, and roughly one run in three then reports an unhandled
// ERR_NOT_IMPLEMENTED. Under Deno that one method becomes a no-op (the worker is exiting anyway);
// nothing else is patched.
import { parentPort } from "node:worker_threads";

if ("Deno" in globalThis && parentPort) {
  const port = parentPort as unknown as { removeAllListeners: () => unknown };
  port.removeAllListeners = () => port;
}
