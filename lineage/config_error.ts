/**
 * The error of the lineage configuration: every problem found, each naming where it is, a
 * `file:line:column` of `openlineage.yml`, an environment variable, or the `--lineage` flag.
 *
 * @module
 */
import { type Cause, Data } from "effect";

/** One thing wrong with the lineage configuration. */
export interface ConfigProblem {
  /** `openlineage.yml:3:5`, `OPENLINEAGE__TRANSPORT__TIMEOUT`, `--lineage` … */
  readonly where: string;
  /** What is wrong there. */
  readonly message: string;
}

/** The fields of a {@link LineageConfigError}. */
export interface LineageConfigErrorFields {
  /** Every finding, each with where it is. */
  readonly problems: ReadonlyArray<ConfigProblem>;
}

// Named with an explicit type so the published declaration needs no inference (JSR).
/** The base class of {@link LineageConfigError}, typed explicitly for JSR: extend or use {@link LineageConfigError}. */
export const LineageConfigErrorBase: new (
  args: LineageConfigErrorFields,
) =>
  & Cause.YieldableError
  & { readonly _tag: "LineageConfigError" }
  & LineageConfigErrorFields = Data.TaggedError("LineageConfigError");

/** The lineage configuration is invalid; `problems` lists every finding. */
export class LineageConfigError extends LineageConfigErrorBase {
  /** Every problem as `where: message`, one per line. */
  override get message(): string {
    return this.problems.map((p) => `${p.where}: ${p.message}`).join("\n");
  }
}
