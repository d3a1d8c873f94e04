/**
 * Flag groups shared by several commands. Each is an `Option` factory, added with
 * `.addOption(…)` so that the option's type flows into the action.
 *
 * @module
 */

import { Option } from "@commander-js/extra-typings";

// ---------------------------------------------------------------------------------------------
// `remote` and `keyserver`: the configuration file and login credentials

/** `-c, --config <file>`: the user's `remote.yaml` replaced (a group option). */
export function configFileOption() {
  return new Option(
    "-c, --config <file>",
    "your remote configuration file (default: ~/.apptainer/remote.yaml)",
  );
}

/** `-u, --username <name>` of the login commands. */
export function usernameOption(description: string) {
  return new Option("-u, --username <name>", description);
}

/** `-p, --password <secret>` of the login commands. */
export function passwordOption(description: string) {
  return new Option("-p, --password <secret>", description);
}

/** `--password-stdin` of the login commands. */
export function passwordStdinOption(description: string) {
  return new Option("--password-stdin", description);
}

/** `--authfile <file>` of `registry login|logout` (env `APPTAINER_AUTH_FILE`). */
export function authFileOption() {
  return new Option(
    "--authfile <file>",
    "Docker-style authentication file to use instead of the default one (env " +
      "APPTAINER_AUTH_FILE); remote.yaml is then left alone",
  );
}
