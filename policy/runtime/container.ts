/**
 * What a container argument names, by its text alone, the way Apptainer and SingularityCE
 * split it: a URI (`docker://`, `library:`, `instance://`…) that the runtime would pull or
 * join, or a local path. Whether a local path is a regular SIF file is decided later, on the
 * descriptor that `exec` opens.
 *
 * @module
 */

/** What a container argument names. */
export type ContainerArg =
  /** A file or folder on this machine, relative to the working folder unless absolute. */
  | { readonly kind: "local-path"; readonly path: string }
  /** A running instance (`instance://NAME`). */
  | { readonly kind: "instance"; readonly name: string }
  /** A source the runtime would fetch: `docker://`, `oras://`, `library://`, `http(s)://`… */
  | { readonly kind: "uri"; readonly transport: string }
  /**
   * Text that siftrust does not take for a path although the runtime might: empty, `-`, or a
   * name with a colon before any slash (`img:v1.sif`; write `./img:v1.sif` for a file).
   */
  | { readonly kind: "ambiguous"; readonly reason: string };

/**
 * The transports that either runtime recognises without `//` (`docker:ubuntu`); any
 * `NAME://` is a transport to both.
 */
const TRANSPORTS = new Set([
  "library",
  "shub",
  "docker",
  "docker-archive",
  "docker-daemon",
  "oci",
  "oci-archive",
  "http",
  "https",
  "oras",
  "buildkit",
  "dockerfile",
  "ipfs",
]);

/** Classifies a container argument by its text (no file system access). */
export function classifyContainerArg(arg: string): ContainerArg {
  if (arg === "") return { kind: "ambiguous", reason: "the container argument is empty" };
  if (arg === "-") return { kind: "ambiguous", reason: "the container argument is `-`" };
  const colon = arg.indexOf(":");
  if (colon === -1) return { kind: "local-path", path: arg };
  const before = arg.slice(0, colon);
  const after = arg.slice(colon + 1);
  if (after.startsWith("//")) {
    if (before === "instance") return { kind: "instance", name: after.slice(2) };
    return { kind: "uri", transport: before };
  }
  if (TRANSPORTS.has(before)) return { kind: "uri", transport: before };
  if (!before.includes("/")) {
    return {
      kind: "ambiguous",
      reason: `${arg} could be read as a ${before}: URI; write ./${arg} for a file`,
    };
  }
  return { kind: "local-path", path: arg };
}
