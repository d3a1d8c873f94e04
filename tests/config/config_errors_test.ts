/**
 * How the `remote` and `keyserver` commands end on a typed failure (cli/config_errors.ts):
 * the kind decides the exit code, command wording is applied by kind, and an error nobody
 * expected is passed on (a bug, exit 70).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ConfigError,
  DiscoveryError,
  RemoteError,
  type RemoteErrorKind,
  REQUEST_ERROR_KINDS,
} from "../../core/config/mod.ts";
import { HttpError } from "../../core/http/mod.ts";
import { RegistryError } from "../../core/registry/mod.ts";
import { cliError, guarded } from "../../cli/config_errors.ts";
import { CliError, ExitCode } from "../../cli/exit.ts";

function mapped(error: unknown): CliError {
  const result = cliError(error);
  assert.ok(result instanceof CliError, String(result));
  return result;
}

Deno.test("remote errors: a user's mistake exits 2, a failed operation 1", () => {
  const failed: RemoteErrorKind[] = [
    "not-permitted",
    "no-service",
    "unreachable",
    "rejected",
    "unexpected-answer",
  ];
  for (const kind of failed) {
    assert.equal(mapped(new RemoteError(kind, "m")).exitCode, ExitCode.Failed, kind);
    assert.equal(REQUEST_ERROR_KINDS.has(kind), false, kind);
  }
  for (const kind of REQUEST_ERROR_KINDS) {
    const error = mapped(new RemoteError(kind, "m"));
    assert.equal(error.exitCode, ExitCode.Usage, kind);
  }
  assert.equal(mapped(new RegistryError("docker-config", "m")).exitCode, ExitCode.Usage);
  assert.equal(mapped(new RegistryError("rejected", "m")).exitCode, ExitCode.Failed);
  assert.equal(mapped(new ConfigError("f:1:1: bad")).exitCode, ExitCode.Usage);
  assert.equal(mapped(new DiscoveryError("status", "m")).exitCode, ExitCode.Failed);
  const http = mapped(new HttpError("timeout", "http://x/", "no answer within 5 s"));
  assert.equal(http.exitCode, ExitCode.Failed);
  assert.equal(http.message, "cannot reach http://x/: no answer within 5 s");
  const bug = new TypeError("x is undefined");
  assert.equal(cliError(bug), bug, "a bug is passed on");
});

Deno.test("guarded applies the command's wording by kind, and the shared wording", async () => {
  const run = (error: Error) =>
    guarded(() => Promise.reject(error), {
      "not-root": (message) => `${message} (run as root, or drop --global)`,
    })();
  await assert.rejects(
    run(new RemoteError("not-root", "cannot change it: not root user")),
    (e: unknown) =>
      e instanceof CliError && e.exitCode === ExitCode.Usage &&
      e.message === "cannot change it: not root user (run as root, or drop --global)",
  );
  await assert.rejects(
    run(new RemoteError("insecure-required", "http://a is an http URI: it must be insecure")),
    (e: unknown) =>
      e instanceof CliError &&
      e.message === "http URI requires --insecure or APPTAINER_ADD_INSECURE=true",
  );
  await assert.rejects(
    run(new RemoteError("exists", "a is already a remote")),
    (e: unknown) => e instanceof CliError && e.message === "a is already a remote",
  );
});
