/**
 * How the `remote` and `keyserver` commands end on a failure: the typed errors of
 * core/config, core/registry and core/http become one line and a documented exit code — a
 * request that cannot be carried out as given (bad configuration, unknown name, not root…)
 * exits 2, an operation that was tried and failed (network, refused credentials, files)
 * exits 1.
 *
 * @module
 */

import {
  ConfigError,
  DiscoveryError,
  KeyserverUriError,
  RemoteError,
  type RemoteErrorKind,
  RemoteSelectionError,
  REQUEST_ERROR_KINDS,
} from "../core/config/mod.ts";
import { FileWriteError } from "../core/files/atomic.ts";
import { HttpError } from "../core/http/mod.ts";
import { RegistryError } from "../core/registry/mod.ts";
import { CliError, ExitCode } from "./exit.ts";
import { configProblemText } from "./render/config_problems.ts";

/** Command-specific wording of some kinds: the core message in, the line to print out. */
export type Wording = Partial<Record<RemoteErrorKind, (message: string) => string>>;

/** Wording every command of the two groups shares. */
const COMMON: Wording = {
  "secrets-in-system-file": (message) =>
    `${message}: log in without --config, or with --config naming your own file`,
  "insecure-required": () => "http URI requires --insecure or APPTAINER_ADD_INSECURE=true",
};

/**
 * Wraps a command action so that the errors a user can cause become one line and a
 * documented exit code; `wording` rewords some kinds for this command (flags to use).
 */
export function guarded<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
  wording: Wording = {},
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      throw cliError(error, { ...COMMON, ...wording });
    }
  };
}

/** The CliError for a failure; anything unexpected is passed on (a bug: exit 70). */
export function cliError(error: unknown, wording: Wording = COMMON): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof RemoteError) {
    const message = wording[error.kind]?.(error.message) ?? error.message;
    return new CliError(
      message,
      REQUEST_ERROR_KINDS.has(error.kind) ? ExitCode.Usage : ExitCode.Failed,
    );
  }
  if (error instanceof RegistryError) {
    const request = error.kind === "invalid-target" || error.kind === "docker-config";
    return new CliError(error.message, request ? ExitCode.Usage : ExitCode.Failed);
  }
  if (error instanceof RemoteSelectionError) {
    return new CliError(configProblemText(error), ExitCode.Usage);
  }
  if (error instanceof ConfigError || error instanceof KeyserverUriError) {
    return new CliError(error.message, ExitCode.Usage);
  }
  if (
    error instanceof FileWriteError || error instanceof DiscoveryError ||
    error instanceof HttpError
  ) {
    return new CliError(error.message, ExitCode.Failed);
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new CliError(
      `${error.message.replace(/, run again with .*$/, "")}: siftrust lacks that permission`,
      ExitCode.Failed,
    );
  }
  if (
    error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotADirectory || error instanceof Deno.errors.AlreadyExists ||
    error instanceof Deno.errors.IsADirectory
  ) {
    return new CliError((error as Error).message, ExitCode.Failed);
  }
  return error;
}
