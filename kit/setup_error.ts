/**
 * A run that cannot start: a bad option, an unknown pipeline or source, inputs that do not exist,
 * configuration problems, an unreachable store or service. Nothing has run when it is raised;
 * the CLI prints it and exits 2.
 *
 * @module
 */

/** What kind of setup failed: how the run was asked for, its configuration, or a service. */
export type SetupErrorKind = "usage" | "config" | "service";

/**
 * A run that cannot start, and why (naming the option, input, file:line:column or service).
 *
 * @category errors
 */
export class SetupError extends Error {
  /** Always `UsageError`: the CLI's name for a run that was asked for wrongly. */
  override readonly name: string = "UsageError";
  /** What kind of setup failed. */
  readonly kind: SetupErrorKind;

  /** A setup error with its message (one line per problem) and kind. @param kind @default "usage" */
  constructor(message: string, kind: SetupErrorKind = "usage") {
    super(message);
    this.kind = kind;
  }
}
