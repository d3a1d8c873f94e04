/**
 * Exit codes shared by every command (docs/policy-v1 contract), and the error type that
 * carries one.
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
