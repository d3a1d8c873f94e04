/**
 * Real peers for interop tests: the reference SIF library, siftool, gpg, mksquashfs…
 *
 * An interop test names the commands (or folders) it needs. When one is missing the test
 * fails in CI (`CI=true`, where `.ci/run` installs every peer) and is skipped with a message
 * on a developer's machine.
 *
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";

/** The repository root. */
export const REPO_ROOT: string = fromFileUrl(new URL("../../", import.meta.url));

/** Debian's reference SIF images (golang-github-sylabs-sif-dev 2.8.3). */
export const REFERENCE_IMAGES = "/usr/share/gocode/src/github.com/sylabs/sif/test/images";

/**
 * Newer reference vectors in the shared folder beside the repository. Their owner's condition
 * is that they are read in place, never copied into the repository: tests check for them with
 * {@linkcode sharedVectorsPresent} (or name the folder as a peer of {@linkcode peerTest}).
 */
export const SHARED_VECTORS: string = fromFileUrl(
  new URL("../../../shared/vectors/sif-head/", import.meta.url),
);

/** The Debian package that provides each peer, for the failure message. */
const PACKAGE_OF: Record<string, string> = {
  siftool: "siftool",
  go: "golang-go",
  mksquashfs: "squashfs-tools",
  gpg: "gnupg",
  script: "bsdutils",
  sks: "sks",
  "docker-registry": "docker-registry",
  htpasswd: "apache2-utils",
  fish: "fish",
  [REFERENCE_IMAGES]: "golang-github-sylabs-sif-dev",
};

const onPath = new Map<string, boolean>();

function available(peer: string): boolean {
  if (peer.startsWith("/")) return existsSync(peer);
  let found = onPath.get(peer);
  if (found === undefined) {
    const path = Deno.env.get("PATH") ?? "";
    found = path.split(":").some((dir) => dir !== "" && existsSync(`${dir}/${peer}`));
    onPath.set(peer, found);
  }
  return found;
}

/** Whether a file or folder exists. */
export function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether tests run in CI, where every peer must be present. */
export const IN_CI: boolean = Deno.env.get("CI") === "true";

/**
 * Registers a test that needs real peers: commands on PATH, or absolute paths of files
 * or folders. Missing peers fail the test in CI and skip it (with a message) elsewhere.
 */
export function peerTest(
  name: string,
  peers: string[],
  fn: (t: Deno.TestContext) => void | Promise<void>,
): void {
  const missing = peers.filter((peer) => !available(peer));
  if (missing.length === 0) {
    Deno.test(name, fn);
    return;
  }
  const what = missing.map((peer) =>
    PACKAGE_OF[peer] === undefined ? peer : `${peer} (Debian package ${PACKAGE_OF[peer]})`
  )
    .join(", ");
  if (IN_CI) {
    Deno.test(name, () => {
      throw new Error(`missing test peer: ${what}; .ci/run must install it`);
    });
  } else {
    console.warn(`skipping "${name}": missing ${what}`);
    Deno.test({ name, ignore: true, fn });
  }
}

/**
 * Whether the shared vectors ({@linkcode SHARED_VECTORS}) are there. Missing, they fail in CI
 * (this throws) and are skipped with a message elsewhere.
 */
export function sharedVectorsPresent(folder: string = SHARED_VECTORS): boolean {
  if (existsSync(folder)) return true;
  if (IN_CI) throw new Error(`missing test vectors: ${folder}; CI must provide them`);
  console.warn(`note: ${folder} is missing; the tests of the newer vectors are skipped`);
  return false;
}
