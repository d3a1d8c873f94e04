/**
 * Prompts on the terminal: a line of input, or a secret typed without echo. When stdin is
 * not a terminal, `ask` and `askSecret` fail at once with a clear error instead of waiting;
 * `readPipedLine` reads the next line of such a stdin instead.
 *
 * @module
 */

import { usageError } from "./exit.ts";

const encoder = new TextEncoder();

function requireTerminal(what: string, alternative: string): void {
  if (!Deno.stdin.isTerminal()) {
    throw usageError(`${what} is needed, but stdin is not a terminal: ${alternative}`);
  }
}

/**
 * Reads one line from the terminal, ending at Enter (a newline, or a carriage return in raw
 * mode); backspace erases, Ctrl-C interrupts.
 */
async function readLine(): Promise<string> {
  const bytes: number[] = [];
  const buffer = new Uint8Array(1);
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null || buffer[0] === 0x0a || buffer[0] === 0x0d) break;
    if (buffer[0] === 0x03) throw usageError("interrupted");
    if (buffer[0] === 0x7f || buffer[0] === 0x08) bytes.pop();
    else bytes.push(buffer[0]);
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/**
 * Reads one line from a stdin that is not a terminal (a pipe or a file), as Apptainer reads
 * answers there: up to a newline, "" at the end of input. Only that line is consumed, so
 * the next question reads the next line.
 */
export async function readPipedLine(): Promise<string> {
  return await readLine();
}

/** Asks a question on stderr and reads the answer. */
export async function ask(question: string, alternative: string): Promise<string> {
  requireTerminal("an answer", alternative);
  Deno.stderr.writeSync(encoder.encode(question));
  return await readLine();
}

/** Asks for a secret on stderr and reads it with echo off. */
export async function askSecret(question: string, alternative: string): Promise<string> {
  requireTerminal("a passphrase", alternative);
  // Echo goes off before the prompt shows, so nothing typed in answer is ever echoed.
  Deno.stdin.setRaw(true);
  try {
    Deno.stderr.writeSync(encoder.encode(question));
    return await readLine();
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}
