/**
 * The signals that ask a command to stop: Ctrl-C, and `kill`'s SIGTERM where there is one
 * (Windows has only Ctrl-C and Ctrl-Break).
 *
 * @module
 */

const stopSignals: ReadonlyArray<Deno.Signal> = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];

/** Calls `onSignal` at each stop signal until the returned function is called. */
export const onStopSignals = (onSignal: () => void): () => void => {
  for (const signal of stopSignals) Deno.addSignalListener(signal, onSignal);
  return () => {
    for (const signal of stopSignals) Deno.removeSignalListener(signal, onSignal);
  };
};
