/**
 * A run that cannot start: a bad option, an unknown pipeline or source, inputs that do not exist,
 * configuration problems, an unreachable store or service. Nothing has run when it is raised;
 * the CLI prints it and exits 2.
 *
 * @module
 */

/** What kind of setup failed: how the run was asked for, its configuration, or a service. */
export type SetupErrorKind = "usage" | "config" | "service";

/** A configuration problem at its place (the shape `policies/problem.ts` defines). */
export interface SetupProblem {
  /** The file. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** What is wrong. */
  readonly message: string;
}

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
  /** The configuration problems, each at its file:line:column (kind `config`). */
  readonly problems: ReadonlyArray<SetupProblem>;

  /**
   * A setup error with its message (one line per problem), kind and problems.
   * @param kind @default "usage"
   */
  constructor(
    message: string,
    kind: SetupErrorKind = "usage",
    problems: ReadonlyArray<SetupProblem> = [],
  ) {
    super(message);
    this.kind = kind;
    this.problems = problems;
  }
}
