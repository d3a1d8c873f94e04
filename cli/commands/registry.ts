/**
 * `siftrust registry`: logins to OCI registries (`docker://HOST`, `oras://HOST`) — login,
 * logout, list — kept where Apptainer (≥ 1.2) keeps them: the secret in a Docker-style
 * authentication file, the login in `remote.yaml`'s `Credentials`. Keyserver URLs are
 * accepted too, as Apptainer's `registry login` does. The rules live in core/registry and
 * core/config; this module parses the flags and prints the results.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { apptainerEnv, configFiles, isKeyserverUri, readEffective } from "../../core/config/mod.ts";
import { registryTarget } from "../../core/registry/mod.ts";
import { guarded } from "../config_errors.ts";
import { usageError } from "../exit.ts";
import {
  env,
  KEYSERVER_LOGIN_WORDING,
  loginToKeyserver,
  loginToRegistry,
  logoutOfKeyserver,
  logoutOfRegistry,
  printNotices,
} from "../logins.ts";
import {
  authFileOption,
  configFileOption,
  passwordOption,
  passwordStdinOption,
  usernameOption,
} from "../options.ts";
import { log, print } from "../output.ts";
import { registryListText } from "../render/remote_text.ts";

/** What a login or logout is for: a registry, or a keyserver URL. */
function targetOf(uri: string) {
  const registry = registryTarget(uri);
  if (registry === undefined && !isKeyserverUri(uri)) {
    throw usageError(
      `while login to ${uri}: give docker://HOST, oras://HOST or a keyserver URL (https://…)`,
    );
  }
  return registry;
}

/** Adds the `registry` command group to the program. */
export function registerRegistry(program: Command): void {
  const group = program.command("registry")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust registry login -u me docker://registry.example.com\n" +
        "  siftrust registry list",
    )
    // Group options (`--config`) may follow the subcommand, as in Apptainer.
    .enablePositionalOptions(false)
    .description("log in to and out of OCI registries (docker://, oras://), and list the logins")
    .addOption(configFileOption());
  const files = () => configFiles(env, group.opts().config);
  const authFile = (flag: string | undefined) => flag ?? apptainerEnv(env, "AUTH_FILE");

  group.command("login")
    .description("log in to an OCI registry (checked before it is stored)")
    .argument("<registry_url>", "docker://HOST[:PORT] or oras://HOST[:PORT]")
    .addOption(usernameOption("user name, required (env APPTAINER_LOGIN_USERNAME)"))
    .addOption(passwordOption("password or token (env APPTAINER_LOGIN_PASSWORD)"))
    .addOption(passwordStdinOption("read the password or token from stdin"))
    .addOption(authFileOption())
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust registry login -u me docker://docker.io\n" +
        '  echo "$TOKEN" | siftrust registry login -u me --password-stdin oras://ghcr.io',
    )
    .action(guarded(async (uri, options) => {
      const registry = targetOf(uri);
      const flags = { ...options, insecure: false, authfile: authFile(options.authfile) };
      if (registry === undefined) return await loginToKeyserver(files(), uri, flags);
      await loginToRegistry(files(), registry, flags);
    }, KEYSERVER_LOGIN_WORDING));

  group.command("logout")
    .description("forget a registry login (succeeds when there was none)")
    .argument("<registry_url>", "docker://HOST[:PORT] or oras://HOST[:PORT]")
    .addOption(authFileOption())
    .addHelpText("after", "\nExample:\n  siftrust registry logout docker://registry.example.com")
    .action(guarded(async (uri, options) => {
      const registry = targetOf(uri);
      if (registry === undefined) return await logoutOfKeyserver(files(), uri);
      await logoutOfRegistry(files(), registry, authFile(options.authfile));
      log("info", "Logout succeeded");
    }));

  group.command("list")
    .description("list your logins to registries and keyservers")
    .addHelpText("after", "\nExample:\n  siftrust registry list")
    .action(guarded(async () => {
      const { config, notices } = await readEffective(files());
      printNotices(notices);
      print(registryListText(config));
    }));
}
