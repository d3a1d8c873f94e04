/**
 * The account database (`/etc/passwd`): the home folder of a user ID, for runs that do not
 * take `HOME` from the environment.
 *
 * @module
 */

/** The account database siftrust reads. */
export const PASSWD_FILE = "/etc/passwd";

/** The home folder of `uid` in `passwd` text (`name:x:uid:gid:gecos:home:shell` lines). */
export function homeInPasswd(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 7 && fields[2] === String(uid) && fields[5].startsWith("/")) {
      return fields[5];
    }
  }
  return undefined;
}

/** The home folder of `uid` in {@linkcode PASSWD_FILE}; undefined when it cannot be told. */
export function accountHome(uid: number): string | undefined {
  try {
    return homeInPasswd(Deno.readTextFileSync(PASSWD_FILE), uid);
  } catch {
    return undefined;
  }
}
