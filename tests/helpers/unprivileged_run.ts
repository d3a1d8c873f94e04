/**
 * Steps of a test that an ordinary user takes: `setpriv` to an unprivileged uid (tests run as
 * root in CI), with an environment of nothing but `PATH` and `HOME`, and a time limit.
 *
 * @module
 */

/** The unprivileged user the tests act as (no account needed: setpriv takes any uid). */
export const ATTACKER_UID = 4242;

/** What a step printed and how it ended. */
export interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `argv` as {@linkcode ATTACKER_UID} (group the same), with `HOME=home`, killed after
 * `timeoutMs`.
 */
export async function runAsAttacker(
  argv: string[],
  home: string,
  timeoutMs = 10_000,
): Promise<StepResult> {
  const child = new Deno.Command("setpriv", {
    args: [
      `--reuid=${ATTACKER_UID}`,
      `--regid=${ATTACKER_UID}`,
      "--clear-groups",
      "env",
      "-i",
      "PATH=/usr/bin:/bin",
      `HOME=${home}`,
      ...argv,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).spawn();
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** A shell script run as the attacker: `sh -c SCRIPT`; fails the test when it fails. */
export async function attackerShell(script: string, home: string): Promise<void> {
  const result = await runAsAttacker(["sh", "-c", script], home);
  if (result.code !== 0) {
    throw new Error(`attacker step failed (exit ${result.code}): ${script}\n${result.stderr}`);
  }
}
