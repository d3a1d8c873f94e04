/**
 * Who made a decision and where, for audit records: the real user ID, named through
 * /etc/passwd (not `$USER`, which anyone can set), the host name and the Slurm job.
 *
 * @module
 */

import type { EnvReader } from "../core/config/mod.ts";
import type { AuditContext } from "./audit.ts";

/** The name of `uid` in passwd-format text (`name:x:uid:…` lines), if it has an entry. */
export function passwdName(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split("\n")) {
    const [name, , id] = line.split(":");
    if (id !== undefined && id !== "" && Number(id) === uid) return name;
  }
  return undefined;
}

/** Where the user database is read from. */
export interface IdentitySources {
  /** The real user ID, or null where the system has none. */
  uid(): number | null;
  /** The host name. */
  hostname(): string;
  /** The text of /etc/passwd. */
  passwd(): string;
}

const SYSTEM: IdentitySources = {
  uid: () => Deno.uid(),
  hostname: () => Deno.hostname(),
  passwd: () => Deno.readTextFileSync("/etc/passwd"),
};

/**
 * The context of an audit record: the user's name from the passwd file (the uid when it has
 * no entry; `$USER` only where there is no uid at all), the host (`unknown` when it cannot be
 * read), and `$SLURM_JOB_ID`.
 */
export function auditContext(env: EnvReader, sources: IdentitySources = SYSTEM): AuditContext {
  const slurmJobId = env("SLURM_JOB_ID") ?? null;
  let host: string;
  try {
    host = sources.hostname();
  } catch {
    host = "unknown";
  }
  let uid: number | null;
  try {
    uid = sources.uid();
  } catch {
    return { user: env("USER") ?? "unknown", uid: null, host, slurmJobId };
  }
  if (uid === null) return { user: "unknown", uid: null, host, slurmJobId };
  let name: string | undefined;
  try {
    name = passwdName(sources.passwd(), uid);
  } catch {
    // no passwd file: the uid stands for the name
  }
  return { user: name ?? String(uid), uid, host, slurmJobId };
}
