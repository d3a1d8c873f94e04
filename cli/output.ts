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

/** Writes one log line to stderr, e.g. `ERROR:   message`. */
export function log(level: keyof typeof LABELS, message: string): void {
  const [label, color] = LABELS[level];
  const shown = useColor() ? `${color}${label}\x1b[0m` : label;
  writeAll(Deno.stderr, encoder.encode(`${shown} ${message}\n`));
}

/**
 * Makes untrusted text (object names, launch scripts) safe for a terminal: control
 * characters become `\xNN` escapes, so an image cannot move the cursor or change colours.
 */
export function displayText(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
