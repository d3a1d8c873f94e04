/**
 * The tables of `remote list`, `remote status`, `keyserver list` and `registry list`, as
 * Apptainer prints them (columns aligned with its tabwriter settings).
 *
 * @module
 */

import {
  compareBytes,
  type EndpointStatus,
  type RemoteConfig,
  type RemoteKeyservers,
} from "../../core/config/mod.ts";
import { tabwrite } from "./tabwriter.ts";

/** The `remote list` table. */
export function remoteListText(config: RemoteConfig): string {
  const check = (on: boolean) => (on ? "✓" : "");
  const rows = [...config.remotes].sort((a, b) => compareBytes(a.name, b.name)).map((r) =>
    [
      r.name,
      r.uri,
      check(r.name === config.active),
      check(r.system),
      check(r.exclusive),
      r.insecure ? "✗!" : "✓",
    ].join("\t")
  );
  const lines = ["NAME\tURI\tDEFAULT?\tGLOBAL?\tEXCLUSIVE?\tSECURE?", ...rows];
  return `\n${tabwrite(lines.map((l) => `${l}\n`).join(""), 2)}`;
}

/** The services table of `remote status`, and the line on the token. */
export function remoteStatusText(status: EndpointStatus): string {
  const rows = status.services.map((s) =>
    `${s.name}\t${s.ok ? "OK" : "N/A"}\t${s.version}\t${s.uri}\n`
  );
  const table = `\n${tabwrite(`SERVICE\tSTATUS\tVERSION\tURI\n${rows.join("")}`, 2)}\n`;
  const token = {
    none: "No authentication token set (logged out).\n",
    valid: "Valid authentication token set (logged in).\n",
    invalid: "Authentication token is invalid (please login again).\n",
  }[status.token];
  return table + token;
}

/** The `keyserver list` text. */
export function keyserverListText(listing: RemoteKeyservers[]): string {
  const rows = listing.map((remote) => {
    const marks = `${remote.system ? "*" : ""}${remote.active ? "^" : ""}`;
    const lines = [`\n${remote.name}${marks === "" ? "" : ` ${marks}`}\n`];
    if (remote.keyservers === undefined) {
      lines.push("   (unable to fetch associated keyserver info for this endpoint)\n");
    } else {
      remote.keyservers.forEach((k, i) =>
        lines.push(`   #${i + 1}\t${k.uri}\t${k.insecure ? "" : "🔒"}\n`)
      );
    }
    return lines.join("");
  });
  return tabwrite(`${rows.join("")}\n(* = system endpoint, ^ = default endpoint)\n`, 2);
}

/** The `registry list` table: the stored logins (registries and keyservers), as Apptainer. */
export function registryListText(config: RemoteConfig): string {
  const rows = config.credentials.map((c) => `${c.uri}\t${c.insecure ? "✗!" : "✓"}\n`);
  return `\n${tabwrite(`URI\tSECURE?\n${rows.join("")}`, 2)}`;
}
