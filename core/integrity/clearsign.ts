/**
 * Finding an OpenPGP clear-signed message in a signature object, with the rules of the
 * reference's decoder (go-crypto `clearsign.Decode`): the block starts at the beginning or
 * after a newline, only `Hash:` headers are allowed, dash-escaped lines are unescaped,
 * trailing blanks are stripped.
 *
 * Everything here scans in linear time (no regular expression runs over the message): a
 * signature object is attacker data, up to `MAX_SIGNATURE_SIZE` (signatures.ts) bytes.
 *
 * @module
 */

const BEGIN = "-----BEGIN PGP SIGNED MESSAGE-----";
const SIGNATURE_BEGIN = "-----BEGIN PGP SIGNATURE-----";
const SIGNATURE_END = "-----END PGP SIGNATURE-----";

/** A clear-signed block. */
export interface ClearsignedBlock {
  /** The signed text: lines joined by `\n`, without the line break before the signature. */
  plaintext: string;
  /** The armored signature, BEGIN to END lines. */
  armoredSignature: string;
}

/** The legacy (Singularity < 3.6) plaintext prefix. */
export const LEGACY_PREFIX = "SIFHASH:\n";

/** Finds the clear-signed block in `text`, or undefined when there is none. */
export function findClearsigned(text: string): ClearsignedBlock | undefined {
  let rest: string;
  if (text.startsWith(BEGIN)) rest = text.slice(BEGIN.length);
  else {
    const at = text.indexOf(`\n${BEGIN}`);
    if (at === -1) return undefined;
    rest = text.slice(at + 1 + BEGIN.length);
  }
  const lines = rest.split("\n").map(withoutCarriageReturn);
  if (lines[0] !== "") return undefined; // text after the BEGIN line
  let i = 1;
  for (; i < lines.length && lines[i] !== ""; i++) {
    if (!isHashHeader(lines[i])) return undefined;
  }
  if (i >= lines.length) return undefined;
  const body: string[] = [];
  for (i++; i < lines.length && lines[i] !== SIGNATURE_BEGIN; i++) {
    const line = lines[i].startsWith("- ") ? lines[i].slice(2) : lines[i];
    body.push(withoutTrailingBlanks(line));
  }
  if (i >= lines.length) return undefined;
  const end = lines.indexOf(SIGNATURE_END, i);
  if (end === -1) return undefined;
  return {
    plaintext: body.join("\n"),
    armoredSignature: lines.slice(i, end + 1).join("\n") + "\n",
  };
}

function withoutCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** The line without its trailing spaces and tabs, found by one scan back from the end. */
export function withoutTrailingBlanks(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === " " || line[end - 1] === "\t")) end--;
  return end === line.length ? line : line.slice(0, end);
}

function isPrintableAscii(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

function isHashHeader(line: string): boolean {
  if (!isPrintableAscii(line)) return false;
  const colon = line.indexOf(":");
  return colon !== -1 && line.slice(0, colon).trim() === "Hash";
}
