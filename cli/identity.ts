/**
 * Who runs siftrust and where, for audit records: the real user ID, named through
 * /etc/passwd (not `$USER`, which anyone can set), and the host name.
 *
 * @module
 */

/** The user's name (from /etc/passwd; the uid when it has no entry) and uid. */
export function currentUser(): { user: string; uid: number | null } {
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch {
    return { user: Deno.env.get("USER") ?? "unknown", uid: null };
  }
  if (uid === null) return { user: "unknown", uid: null };
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const [name, , id] = line.split(":");
      if (Number(id) === uid) return { user: name, uid };
    }
  } catch {
    // no passwd file: the uid stands for the name
  }
  return { user: String(uid), uid };
}

/** The host name, or `unknown`. */
export function currentHost(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}
