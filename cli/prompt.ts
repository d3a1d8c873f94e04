/**
 * Prompts: a line of input, or a secret typed without echo. On a terminal they read what is
 * typed. When stdin is not a terminal, `ask` and `askSecret` fail at once with a clear error
 * instead of waiting, while `answer` and `answerSecret` read the next line of that stdin, as
 * Apptainer reads its answers (`echo "$PASSPHRASE" | siftrust sign image.sif`).
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
 * answers there: up to a newline (a `\r` before it dropped), "" at the end of input. Only
 * that line is consumed, byte by byte, so the next question reads the next line, from a pipe
 * as from a file.
 */
export async function readPipedLine(): Promise<string> {
  const bytes: number[] = [];
  const buffer = new Uint8Array(1);
  while (await Deno.stdin.read(buffer) !== null && buffer[0] !== 0x0a) bytes.push(buffer[0]);
  if (bytes.at(-1) === 0x0d) bytes.pop();
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/**
 * Asks a question on stderr; the answer is typed on a terminal, else it is the next line of
 * stdin (the question is then shown on a line of its own).
 */
export async function answer(question: string): Promise<string> {
  if (Deno.stdin.isTerminal()) return await typed(question);
  Deno.stderr.writeSync(encoder.encode(`${question}\n`));
  return await readPipedLine();
}

/** As {@linkcode answer}, for a secret: typed without echo on a terminal. */
export async function answerSecret(prompt: string): Promise<string> {
  if (Deno.stdin.isTerminal()) return await typedSecret(prompt);
  Deno.stderr.writeSync(encoder.encode(`${prompt}\n`));
  return await readPipedLine();
}

/** Asks a question on stderr and reads the answer from the terminal. */
export async function ask(question: string, alternative: string): Promise<string> {
  requireTerminal("an answer", alternative);
  return await typed(question);
}

/** Asks for a secret on stderr and reads it from the terminal with echo off. */
export async function askSecret(question: string, alternative: string): Promise<string> {
  requireTerminal("a passphrase", alternative);
  return await typedSecret(question);
}

async function typed(question: string): Promise<string> {
  Deno.stderr.writeSync(encoder.encode(question));
  return await readLine();
}

async function typedSecret(question: string): Promise<string> {
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
