/**
 * Exit codes shared by every command (docs/policy.md, "Exit codes"), the error type that
 * carries one, and the exit code of a policy decision.
 *
 * @module
 */

/** The documented exit codes. */
export const ExitCode = {
  /** Success: verified, allowed, or done. */
  Ok: 0,
  /** Verification failed, the policy denied the image, or an operation failed. */
  Failed: 1,
  /** Usage error, or an invalid policy or configuration file. */
  Usage: 2,
  /** The image is unreadable or not a valid SIF. */
  BadImage: 3,
  /** A needed key could not be obtained. */
  KeyUnavailable: 4,
  /** A bug: an exception nobody expected. */
  Internal: 70,
} as const;

/** An error a user can cause: its message is one line that says what is wrong and what to do. */
export class CliError extends Error {
  /** The exit code to end with. */
  readonly exitCode: number;

  /** An error that ends the command with `exitCode`; `message` is its one line (or empty). */
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A usage error (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.Usage);
}

/** What an image's exit code depends on: the decision, the mode, and a missing key. */
export interface DecisionOutcome {
  /** The policy's decision. */
  decision: "allow" | "deny" | "error";
  /** The policy's mode. */
  mode: "enforce" | "warn";
  /** Whether a declared signer's key could not be obtained. */
  keyUnavailable: boolean;
}

/**
 * The exit code of a policy decision (docs/policy.md, "Exit codes"): an image that could not be
 * read is 3 in any mode; an allow, and any deny in `warn` mode, is 0; a deny is 4 when a
 * declared signer's key could not be obtained (the answer may change once it can), else 1.
 */
export function decisionExitCode(outcome: DecisionOutcome): number {
  if (outcome.decision === "error") return ExitCode.BadImage;
  if (outcome.decision === "allow" || outcome.mode === "warn") return ExitCode.Ok;
  return outcome.keyUnavailable ? ExitCode.KeyUnavailable : ExitCode.Failed;
}
