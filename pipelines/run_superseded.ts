/**
 * The signal that a run no longer owns its job: a stage write was refused because the job was
 * cancelled or another process took it over. The run stops at once; it writes nothing more (the
 * cancellation or the take-over has ended its open runs).
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "../stages/errors.ts";

const RunSupersededBase: TaggedErrorClass<"RunSuperseded", { readonly jobId: string }> =
  taggedError("RunSuperseded");
// Named with an explicit type so the published declaration needs no inference (JSR).
/** A run's write was refused: the job was cancelled or taken over; the run stops. */
export class RunSuperseded extends RunSupersededBase {}
