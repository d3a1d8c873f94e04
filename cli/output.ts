/**
 * Writing to stdout and stderr: whole writes, log lines in Apptainer's format
 * (`INFO:    `, `WARNING: `, `ERROR:   `), and safe display of untrusted text.
 *
 * @module
 */

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += stream.writeSync(bytes.subarray(done));
}

/** Writes text (or bytes) to stdout as is. */
export function print(text: string | Uint8Array): void {
  writeAll(Deno.stdout, typeof text === "string" ? encoder.encode(text) : text);
}

/** Writes a value to stdout as indented JSON and a newline. */
export function printJson(value: unknown): void {
  print(`${JSON.stringify(value, null, 2)}\n`);
}

const LABELS = {
  info: ["INFO:   ", "\x1b[34m"],
  warning: ["WARNING:", "\x1b[33m"],
  error: ["ERROR:  ", "\x1b[31m"],
} as const;

function useColor(): boolean {
  return Deno.stderr.isTerminal() && Deno.env.get("NO_COLOR") === undefined;
}

/**
 * Writes one log line to stderr, e.g. `ERROR:   message`. The message is always one line: its
 * control characters are escaped (see {@linkcode displayText}), whatever it quotes.
 */
export function log(level: keyof typeof LABELS, message: string): void {
  const [label, color] = LABELS[level];
  const shown = useColor() ? `${color}${label}\x1b[0m` : label;
  writeAll(Deno.stderr, encoder.encode(`${shown} ${displayText(message)}\n`));
}

/**
 * Characters that can forge what a terminal shows: C0 controls (newline, carriage return,
 * escape…), DEL, C1 controls, the Unicode line and paragraph separators, and the bidi
 * embeddings, overrides and isolates that reorder text.
 */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Makes untrusted text (paths, user IDs, object names, launch scripts, messages) safe for a
 * terminal: control characters become `\xNN` escapes and the Unicode ones `\uNNNN`, so the
 * text cannot move the cursor, change colours, start a new line or reorder what follows.
 */
export function displayText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
