/**
 * The machine-readable answer of an HKP `op=index&options=mr` search, read as Apptainer's
 * `key search` reads it:
 *
 * ```text
 * info:1:2
 * pub:8232570480B868E1473AEEB03DBCBA1EE9D661E5:1:4096:1645657939::
 * uid:Ian Kaneshiro (example key) <ikaneshiro@apptainer.org>:1645657939::
 * pub:…
 * ```
 *
 * Each line is trimmed and split on `:`, missing trailing fields being empty. `info` announces
 * how many keys follow, `pub` starts a key (key ID or fingerprint, algorithm, bits, creation,
 * expiry, flags), `uid` adds a URL-escaped user ID to the key before it; other records are
 * ignored. Everything here is pure: no I/O.
 *
 * @module
 */

/** One key of an index answer, with its fields as the keyserver sent them. */
export interface IndexKey {
  /** The key field of the `pub` line: a fingerprint (with `fingerprint=on`) or a key ID. */
  key: string;
  /** The OpenPGP public-key algorithm number, as text (may be empty or junk). */
  algorithm: string;
  /** The key size in bits, as text. */
  bits: string;
  /** Creation time: Unix seconds, `none`, or empty. */
  created: string;
  /** Expiry time: Unix seconds, `none`, or empty. */
  expires: string;
  /** Flags: `r` revoked, `d` disabled, `e` expired. */
  flags: string;
  /** The user IDs, unescaped, in the order sent. */
  userIds: string[];
}

/** A parsed index answer. */
export interface KeyIndex {
  /** The number of keys the `info` line announced; undefined without an `info` line. */
  announced?: number;
  /** The keys, in the order sent. */
  keys: IndexKey[];
}

/** The answer cannot be read; the message says why. */
export class IndexError extends Error {}

/** Parses a machine-readable index answer. Throws IndexError for a bad `info` count. */
export function parseIndex(text: string): KeyIndex {
  const index: KeyIndex = { keys: [] };
  let current: IndexKey | undefined;
  for (const raw of text.split("\n")) {
    const fields = raw.trim().split(":");
    const field = (i: number) => fields[i] ?? "";
    switch (fields[0]) {
      case "info": {
        const count = field(2);
        if (!/^[+-]?[0-9]+$/.test(count)) {
          throw new IndexError("unable to check number of keys");
        }
        index.announced = Number(count);
        break;
      }
      case "pub":
        current = {
          key: field(1),
          algorithm: field(2),
          bits: field(3),
          created: field(4),
          expires: field(5),
          flags: field(6),
          userIds: [],
        };
        index.keys.push(current);
        break;
      case "uid":
        current?.userIds.push(queryUnescape(field(1)));
        break;
    }
  }
  return index;
}

/**
 * Whether the keys received are the keys announced: an `info` count above zero must equal
 * the number of `pub` lines (a count of zero, or no `info` line, accepts any number).
 */
export function countMatches(index: KeyIndex): boolean {
  return index.announced === undefined || index.announced <= 0 ||
    index.announced === index.keys.length;
}

/** Throws IndexError when {@linkcode countMatches} is false. */
export function checkCount(index: KeyIndex): void {
  if (!countMatches(index)) {
    throw new IndexError(
      `failed to convert machine readable to human readable output correctly: the keyserver announced ${index.announced} keys and sent ${index.keys.length}`,
    );
  }
}

/**
 * The algorithm's name as Apptainer shows it: 1–3 `RSA`, 16 `Elgamal`, 17 `DSA`,
 * 18 `Elliptic Curve`, 19 `ECDSA`, 20 `Reserved`, 21 `Diffie-Hellman`, any other number
 * `unknown` (so EdDSA, 22, is `unknown`). A field that is not a number throws IndexError.
 */
export function algorithmName(field: string): string {
  if (!/^[+-]?[0-9]+$/.test(field)) {
    throw new IndexError(`the algorithm field "${field}" is not a number`);
  }
  switch (Number(field)) {
    case 1:
    case 2:
    case 3:
      return "RSA";
    case 16:
      return "Elgamal";
    case 17:
      return "DSA";
    case 18:
      return "Elliptic Curve";
    case 19:
      return "ECDSA";
    case 20:
      return "Reserved";
    case 21:
      return "Diffie-Hellman";
    default:
      return "unknown";
  }
}

/** The status column: `[revoked]`, `[disabled]`, `[expired]` or `[enabled]`, in that precedence. */
export function keyStatus(flags: string): string {
  if (flags.includes("r")) return "[revoked]";
  if (flags.includes("d")) return "[disabled]";
  if (flags.includes("e")) return "[expired]";
  return "[enabled]";
}

/** The short key ID shown by `key search`: the last 8 characters of the key field. */
export function shortKeyId(key: string): string {
  return key.slice(-8);
}

/**
 * A date field as Unix seconds; undefined when it is empty, `none` or not a number (those
 * are shown as sent).
 */
export function dateSeconds(field: string): number | undefined {
  return /^[+-]?[0-9]+$/.test(field) ? Number(field) : undefined;
}

/** Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; invalid text is kept as sent. */
function queryUnescape(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}

/** A date column of `key search --long-list`: Unix seconds, or the field as sent. */
export type IndexDate = number | string;

/** One key of a search answer, with the columns `key search` shows. */
export interface IndexEntry {
  /** The short key ID, or with the long form the key field (the fingerprint). */
  key: string;
  /** The key size in bits, as sent. */
  bits: string;
  /** The user IDs, in the order sent. */
  userIds: string[];
  /** Long form only: the algorithm's name ({@linkcode algorithmName}). */
  algorithm?: string;
  /** Long form only: creation time. */
  created?: IndexDate;
  /** Long form only: expiry time. */
  expires?: IndexDate;
  /** Long form only: the status ({@linkcode keyStatus}). */
  status?: string;
}

/**
 * The entries `key search` shows, short (`KEY ID BITS NAME/EMAIL`) or long (fingerprint,
 * algorithm, bits, dates, status). Throws IndexError for an algorithm field that is not a
 * number (long form only).
 */
export function indexEntries(index: KeyIndex, long: boolean): IndexEntry[] {
  const date = (field: string): IndexDate => dateSeconds(field) ?? field;
  return index.keys.map((key) =>
    long
      ? {
        key: key.key,
        bits: key.bits,
        userIds: key.userIds,
        algorithm: algorithmName(key.algorithm),
        created: date(key.created),
        expires: date(key.expires),
        status: keyStatus(key.flags),
      }
      : { key: shortKeyId(key.key), bits: key.bits, userIds: key.userIds }
  );
}
