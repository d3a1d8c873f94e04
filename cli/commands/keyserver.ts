/**
 * `siftrust keyserver`: the ordered keyservers of Apptainer's remotes, and logins to them —
 * add, remove, list, login, logout — on Apptainer's own `remote.yaml` files. The rules live
 * in core/config (keyserver_list.ts, keyserver_login.ts); this module parses the flags and
 * prints the results.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { configFiles, keyserverListing, readEffective } from "../../core/config/mod.ts";
import { guarded } from "../config_errors.ts";
import { runKeyserverAdd, runKeyserverRemove } from "../keyserver_changes.ts";
import { usageError } from "../exit.ts";
import {
  env,
  KEYSERVER_LOGIN_WORDING,
  loginToKeyserver,
  logoutOfKeyserver,
  printNotices,
} from "../logins.ts";
import {
  configFileOption,
  passwordOption,
  passwordStdinOption,
  usernameOption,
} from "../options.ts";
import { print } from "../output.ts";
import { keyserverListText } from "../render/remote_text.ts";

/** Adds the `keyserver` command group to the program. */
export function registerKeyserver(program: Command): void {
  const group = program.command("keyserver")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust keyserver list\n  sudo siftrust keyserver add --order 1 https://keys.example.edu",
    )
    // Group options (`--config`) may follow the subcommand, as in Apptainer.
    .enablePositionalOptions(false)
    .description(
      "manage the ordered keyservers of the remotes (system-wide, root only) and your logins to them",
    )
    .addOption(configFileOption());
  const files = () => configFiles(env, group.opts().config);

  group.command("add")
    .description(
      "add a keyserver to a system remote (the default one unless named); always edits " +
        "$SIFTRUST_SYSCONFDIR/apptainer/remote.yaml; needs root",
    )
    .usage("[options] [remoteName] <keyserver_url>")
    .argument("<remote-or-url>", "remote name, or the keyserver URL")
    .argument("[url]", "keyserver URL (when a remote name is given)")
    .option("-o, --order <n>", "position in the list, from 1 (default: last)")
    .option("-i, --insecure", "do not check the keyserver's TLS certificate")
    .addHelpText(
      "after",
      "\nExamples:\n  sudo siftrust keyserver add https://pgp.example.com\n" +
        "  sudo siftrust keyserver add --order 1 DefaultRemote hkps://keys.example.org",
    )
    .action(guarded((first, second, options) => runKeyserverAdd(files(), first, second, options)));

  group.command("remove")
    .description(
      "remove a keyserver from a system remote (the default one unless named); always edits " +
        "$SIFTRUST_SYSCONFDIR/apptainer/remote.yaml; needs root",
    )
    .usage("[options] [remoteName] <keyserver_url>")
    .argument("<remote-or-url>", "remote name, or the keyserver URL")
    .argument("[url]", "keyserver URL (when a remote name is given)")
    .addHelpText("after", "\nExample:\n  sudo siftrust keyserver remove https://pgp.example.com")
    .action(guarded((first, second) => runKeyserverRemove(files(), first, second)));

  group.command("list")
    .description("list the keyservers of each remote (or of one), in the order they are tried")
    .argument("[remoteName]", "only this remote")
    .addHelpText("after", "\nExample:\n  siftrust keyserver list")
    .action(guarded(async (only) => {
      const { config, notices } = await readEffective(files());
      printNotices(notices);
      print(keyserverListText(await keyserverListing(config, only)));
    }));

  group.command("login")
    .description("log in to a keyserver that an administrator added (checked before it is stored)")
    .argument("<keyserver_url>", "the keyserver URL, as `siftrust keyserver list` shows it")
    .addOption(usernameOption("user name (env APPTAINER_LOGIN_USERNAME); none: a token"))
    .addOption(passwordOption("password or token (env APPTAINER_LOGIN_PASSWORD)"))
    .addOption(passwordStdinOption("read the password or token from stdin"))
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust keyserver login --username me https://pgp.example.com\n" +
        '  echo "$TOKEN" | siftrust keyserver login --password-stdin https://pgp.example.com',
    )
    .action(guarded(async (uri, options) => {
      await loginToKeyserver(files(), uri, { ...options, insecure: false });
    }, KEYSERVER_LOGIN_WORDING));

  group.command("logout")
    .description("forget your login to a keyserver")
    .argument("[keyserver_url]", "the keyserver URL")
    .addHelpText("after", "\nExample:\n  siftrust keyserver logout https://pgp.example.com")
    .action(guarded(async (uri) => {
      if (uri === undefined || uri === "") {
        throw usageError(
          "give the keyserver URL to log out of, e.g. siftrust keyserver logout https://pgp.example.com",
        );
      }
      await logoutOfKeyserver(files(), uri);
    }));
}
