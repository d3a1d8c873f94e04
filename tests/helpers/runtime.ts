/**
 * A stand-in container runtime for `siftrust exec` tests: a shell script named `apptainer` that
 * takes `apptainer exec IMAGE NAME ARGS…` and runs `sh -c "$FAKE_SCRIPT" sh IMAGE ARGS…`, so a
 * test sees exactly the container argument siftrust hands the runtime (`$1`). Without
 * `FAKE_SCRIPT` it prints `ran`.
 *
 * @module
 */

const FAKE_RUNTIME = "#!/bin/sh\nshift\nimage=$1\nshift 2\n" +
  'exec /bin/sh -c "${FAKE_SCRIPT:-echo ran}" sh "$image" "$@"\n';

/** Writes the stand-in as `DIR/bin/apptainer` (mode 0755) and returns its path. */
export async function writeFakeRuntime(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  const path = `${dir}/bin/apptainer`;
  await Deno.writeTextFile(path, FAKE_RUNTIME);
  await Deno.chmod(path, 0o755);
  return path;
}

/** The command line after `siftrust exec … --` that runs `image` through `runtime`. */
export function runtimeCommand(runtime: string, image: string): string[] {
  return [runtime, "exec", image, "true"];
}
