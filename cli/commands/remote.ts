/**
 * `siftrust remote`: Apptainer's remote endpoints in Apptainer's own `remote.yaml` files —
 * add, remove, use, list, status — and logins: endpoint access tokens, and OCI registry
 * credentials (`docker://HOST`, `oras://HOST`) kept as Apptainer keeps them. The rules live
 * in core/config and core/registry; this module parses the flags and prints the results.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import {
  addRemote,
  apptainerEnvFlag,
  configFiles,
  endpointFor,
  endpointStatus,
  forgetToken,
  isKeyserverUri,
  readEffective,
  RemoteError,
  removeRemote,
  useRemote,
} from "../../core/config/mod.ts";
import { registryTarget } from "../../core/registry/mod.ts";
import { guarded, type Wording } from "../config_errors.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { runKeyserverAdd, runKeyserverRemove } from "../keyserver_changes.ts";
import {
  env,
  KEYSERVER_LOGIN_WORDING,
  loginToEndpoint,
  loginToKeyserver,
  loginToRegistry,
  logoutOfKeyserver,
  logoutOfRegistry,
  printNotices,
} from "../logins.ts";
import {
  configFileOption,
  passwordOption,
  passwordStdinOption,
  usernameOption,
} from "../options.ts";
import { log, print } from "../output.ts";
import { remoteListText, remoteStatusText } from "../render/remote_text.ts";

/** `--global` changes need root: say how to do without. */
const GLOBAL_WORDING: Wording = {
  "not-root": (message) => `${message} (run as root, or drop --global)`,
};

/** Apptainer's warning when `remote login|logout` is given a registry or keyserver. */
function deprecatedFor(verb: "login" | "logout"): string {
  return `'remote ${verb}' is deprecated for registries or keyservers and will be removed in a ` +
    `future release; running 'registry ${verb}'`;
}

/** Apptainer's warning of the deprecated `remote add-keyserver|remove-keyserver`. */
function deprecatedKeyserver(verb: "add" | "remove"): string {
  return `'remote ${verb}-keyserver' is deprecated and will be removed in a future release; ` +
    `running 'keyserver ${verb}'`;
}

/** Adds the `remote` command group to the program. */
export function registerRemote(program: Command): void {
  const group = program.command("remote")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote list\n  siftrust remote add --no-login site cloud.example.edu\n  siftrust remote login --username me docker://registry.example.edu",
    )
    // Group options (`--config`) may follow the subcommand, as in Apptainer.
    .enablePositionalOptions(false)
    .description(
      "manage remote endpoints (yours and, as root, the system's) and logins to remotes and OCI registries",
    )
    .addOption(configFileOption());
  const files = () => configFiles(env, group.opts().config);

  group.command("add")
    .description("add a remote endpoint; it becomes the default unless --no-default")
    .argument("<name>", "a name for the remote")
    .argument("<URI>", "its address, e.g. enterprise.example.com (https) or http://… --insecure")
    .option("-g, --global", "add it to the system configuration (needs root)")
    .option("--no-login", "do not log in to the remote after adding it")
    .option("-i, --insecure", "use http for service discovery (env APPTAINER_ADD_INSECURE)")
    .option("-n, --no-default", "do not make it the default remote")
    .option("--tokenfile <file>", "log in with the access token in this file")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote add --no-login myremote https://enterprise.example.com\n" +
        "  sudo siftrust remote add --global company-remote enterprise7.example.com",
    )
    .action(guarded(async (name, uri, options) => {
      const f = files();
      const { endpoint, insecureIgnored } = await addRemote(f, {
        name,
        uri,
        insecure: !!options.insecure || apptainerEnvFlag(env, "ADD_INSECURE"),
        global: options.global,
        makeDefault: options.default,
      });
      if (insecureIgnored) log("info", "--insecure ignored for https remote");
      log("info", `Remote "${name}" added.`);
      if (!options.login) return;
      if (options.global) {
        log("info", "Global option detected. Will not automatically log into remote.");
        return;
      }
      await loginToEndpoint(f, endpoint, options.tokenfile);
    }, GLOBAL_WORDING));

  group.command("remove")
    .description("remove a remote endpoint")
    .argument("<name>", "the remote")
    .option("-g, --global", "remove it from the system configuration (needs root)")
    .addHelpText("after", "\nExample:\n  siftrust remote remove myremote")
    .action(guarded(async (name, options) => {
      await removeRemote(files(), name, options.global).catch((error) => {
        if (!(error instanceof RemoteError && error.kind === "global-remote")) throw error;
        throw usageError(`${error.message} (as root: siftrust remote remove --global ${name})`);
      });
      log("info", `Remote "${name}" removed.`);
    }, GLOBAL_WORDING));

  group.command("use")
    .description("make a remote the default one")
    .argument("<name>", "the remote")
    .option("-g, --global", "set the system default (needs root)")
    .option("-e, --exclusive", "make it the only usable remote for every user (needs root)")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote use myremote\n  sudo siftrust remote use --exclusive company-remote",
    )
    .action(guarded(async (name, options) => {
      const notices = await useRemote(files(), name, options);
      printNotices(notices);
      log("info", `Remote "${name}" now in use.`);
    }));

  group.command("list")
    .description("list the remote endpoints (yours and the system's)")
    .addHelpText("after", "\nExample:\n  siftrust remote list")
    .action(guarded(async () => {
      const { config, notices } = await readEffective(files());
      printNotices(notices);
      print(remoteListText(config));
    }));

  group.command("login")
    .description(
      "log in to a remote endpoint (access token) or to an OCI registry (docker://HOST, oras://HOST)",
    )
    .argument("[target]", "a remote (default: the default one), docker://HOST or oras://HOST")
    .addOption(usernameOption("registry user name (env APPTAINER_LOGIN_USERNAME)"))
    .addOption(passwordOption("password (env APPTAINER_LOGIN_PASSWORD)"))
    .addOption(passwordStdinOption("read the password from stdin"))
    .option("-i, --insecure", "use http for the registry (env APPTAINER_LOGIN_INSECURE)")
    .option("--tokenfile <file>", "a remote endpoint's access token, in this file")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote login --tokenfile token.txt myremote\n" +
        '  echo "$PASS" | siftrust remote login -u me --password-stdin docker://registry.example.com',
    )
    .action(guarded(async (target, options) => {
      const f = files();
      const registry = target === undefined ? undefined : registryTarget(target);
      const { config, notices } = await readEffective(f);
      const known = target !== undefined && config.remote(target) !== undefined;
      const insecure = !!options.insecure || apptainerEnvFlag(env, "LOGIN_INSECURE");
      if (!known && target !== undefined && (registry !== undefined || isKeyserverUri(target))) {
        if (options.tokenfile !== undefined) {
          throw usageError(
            "--tokenfile is only supported for login to a remote endpoint, not OCI (docker/oras) or keyservers",
          );
        }
        log("warning", deprecatedFor("login"));
        if (registry === undefined) {
          return await loginToKeyserver(f, target, { ...options, insecure });
        }
        return await loginToRegistry(f, registry, { ...options, insecure });
      }
      printNotices(notices);
      await loginToEndpoint(f, endpointFor(config, target), options.tokenfile);
    }, KEYSERVER_LOGIN_WORDING));

  group.command("logout")
    .description("forget the access token of a remote, or a registry login (docker://HOST)")
    .argument("[target]", "a remote (default: the default one), docker://HOST or oras://HOST")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote logout myremote\n  siftrust remote logout docker://registry.example.com",
    )
    .action(guarded(async (target) => {
      const f = files();
      const registry = target === undefined ? undefined : registryTarget(target);
      const { config } = await readEffective(f);
      const known = target !== undefined && config.remote(target) !== undefined;
      if (!known && target !== undefined && (registry !== undefined || isKeyserverUri(target))) {
        log("warning", deprecatedFor("logout"));
        if (registry === undefined) return await logoutOfKeyserver(f, target);
        await logoutOfRegistry(f, registry);
      } else await forgetToken(f, endpointFor(config, target).name);
      log("info", "Logout succeeded");
    }));

  // Apptainer's hidden, deprecated aliases of `keyserver add|remove` (seeds 002 and 004).
  group.command("add-keyserver", { hidden: true })
    .description("deprecated: use 'keyserver add'")
    .argument("<remote-or-url>", "remote name, or the keyserver URL")
    .argument("[url]", "keyserver URL (when a remote name is given)")
    .option("-o, --order <n>", "position in the list, from 1 (default: last)")
    .option("-i, --insecure", "do not check the keyserver's TLS certificate")
    .action(guarded(async (first, second, options) => {
      log("warning", deprecatedKeyserver("add"));
      await runKeyserverAdd(files(), first, second, options);
    }));
  group.command("remove-keyserver", { hidden: true })
    .description("deprecated: use 'keyserver remove'")
    .argument("<remote-or-url>", "remote name, or the keyserver URL")
    .argument("[url]", "keyserver URL (when a remote name is given)")
    .action(guarded(async (first, second) => {
      log("warning", deprecatedKeyserver("remove"));
      await runKeyserverRemove(files(), first, second);
    }));

  group.command("status")
    .description("check a remote's services and whether your token is valid")
    .argument("[name]", "the remote (default: the default remote)")
    .addHelpText("after", "\nExample:\n  siftrust remote status myremote")
    .action(guarded(async (name) => {
      const { config, notices } = await readEffective(files());
      printNotices(notices);
      log(
        "info",
        name === undefined
          ? "Checking status of default remote."
          : `Checking status of remote: ${name}`,
      );
      const endpoint = endpointFor(config, name);
      const status = await endpointStatus(endpoint);
      print(remoteStatusText(status));
      if (status.token === "invalid") {
        throw new CliError(`the token of remote ${endpoint.name} is not valid`, ExitCode.Failed);
      }
    }));
}
