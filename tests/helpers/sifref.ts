/**
 * Drives `sifref`, the reference harness in `tests/interop/sifref/`: a small Go program built
 * against Debian's reference SIF library (github.com/sylabs/sif/v2 2.8.3) that builds, loads,
 * extends, signs and verifies SIF images the way the reference (and Apptainer) does.
 *
 * The binary is built on first use, offline, in GOPATH mode (Debian installs the library
 * under /usr/share/gocode/src), and cached in
 * `${XDG_CACHE_HOME:-$HOME/.cache}/siftrust-tests/sifref-<hash of the Go sources>`, so
 * repeated test runs do not rebuild it. Concurrent builds write to a unique temporary name and
 * rename it into place, so parallel test processes never see a partial binary.
 *
 * Register tests that use it with `peerTest(name, ["go", REFERENCE_IMAGES], fn)`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder holding the harness sources. */
export const SIFREF_SOURCE_DIR: string = fileURLToPath(
  new URL("../interop/sifref/", import.meta.url),
);

/** Where Debian installs the Go sources the harness builds against. */
const GOCODE = "/usr/share/gocode/src";

/** Bump to force a rebuild when the build recipe itself changes. */
const RECIPE_VERSION = "1";

/** The raw outcome of one harness run. */
export interface SifrefOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** A harness run that exited non-zero. */
export class SifrefError extends Error {
  constructor(readonly args: string[], readonly output: SifrefOutput) {
    super(
      `sifref ${args.join(" ")} exited with ${output.code}: ${
        output.stderr.trim() || output.stdout.trim()
      }`,
    );
    this.name = "SifrefError";
  }
}

function cacheRoot(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "siftrust-tests");
  const home = Deno.env.get("HOME");
  if (home) return join(home, ".cache", "siftrust-tests");
  return join(tmpdir(), "siftrust-tests");
}

async function sourceFiles(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(SIFREF_SOURCE_DIR)) {
    if (entry.isFile && entry.name.endsWith(".go") && !entry.name.endsWith("_test.go")) {
      names.push(entry.name);
    }
  }
  return names.sort();
}

async function sourceHash(names: string[]): Promise<string> {
  const hash = createHash("sha256");
  hash.update(`recipe ${RECIPE_VERSION}\n`);
  for (const name of names) {
    const data = await Deno.readFile(join(SIFREF_SOURCE_DIR, name));
    hash.update(`${name} ${data.length}\n`);
    hash.update(data);
  }
  return hash.digest("hex").slice(0, 16);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Builds the binary into `target` (via a unique temporary name and a rename). */
async function build(names: string[], target: string): Promise<void> {
  const root = cacheRoot();
  const gopath = await Deno.makeTempDir({ prefix: "sifref-gopath-" });
  try {
    // GOPATH layout: everything in /usr/share/gocode/src, plus a `/v2`
    // link because Debian ships the v2 module without its major-version folder.
    await Deno.mkdir(join(gopath, "src", "github.com", "sylabs", "sif"), { recursive: true });
    for await (const entry of Deno.readDir(GOCODE)) {
      if (entry.name === "github.com") continue;
      await Deno.symlink(join(GOCODE, entry.name), join(gopath, "src", entry.name));
    }
    for await (const entry of Deno.readDir(join(GOCODE, "github.com"))) {
      if (entry.name === "sylabs") continue;
      await Deno.symlink(
        join(GOCODE, "github.com", entry.name),
        join(gopath, "src", "github.com", entry.name),
      );
    }
    await Deno.symlink(
      join(GOCODE, "github.com", "sylabs", "sif"),
      join(gopath, "src", "github.com", "sylabs", "sif", "v2"),
    );
    const pkgDir = join(gopath, "src", "sifref");
    await Deno.mkdir(pkgDir);
    for (const name of names) {
      await Deno.copyFile(join(SIFREF_SOURCE_DIR, name), join(pkgDir, name));
    }

    const tmpTarget = `${target}.tmp-${Deno.pid}-${crypto.randomUUID()}`;
    const env: Record<string, string> = {
      GO111MODULE: "off",
      GOPATH: gopath,
      // Go's build cache is safe for concurrent use; sharing it makes rebuilds quick.
      GOCACHE: join(root, "gocache"),
      GOFLAGS: "",
      GOPROXY: "off",
      GONOSUMDB: "",
      GOTOOLCHAIN: "local",
      CGO_ENABLED: "0",
    };
    const out = await new Deno.Command("go", {
      args: ["build", "-o", tmpTarget, "."],
      cwd: pkgDir,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      await Deno.remove(tmpTarget).catch(() => {});
      const dec = new TextDecoder();
      throw new Error(
        `building sifref failed (exit ${out.code}):\n${dec.decode(out.stdout)}${
          dec.decode(out.stderr)
        }`,
      );
    }
    await Deno.rename(tmpTarget, target);
  } finally {
    await Deno.remove(gopath, { recursive: true }).catch(() => {});
  }
}

let binaryPromise: Promise<string> | undefined;

/** Returns the path of the harness binary, building it first when it is not cached. */
export function sifrefBinary(): Promise<string> {
  binaryPromise ??= (async () => {
    const names = await sourceFiles();
    const root = cacheRoot();
    const target = join(root, `sifref-${await sourceHash(names)}`);
    if (await exists(target)) return target;
    await Deno.mkdir(root, { recursive: true });
    await build(names, target);
    return target;
  })();
  // A failed build should not poison every later call in this process.
  binaryPromise.catch(() => {
    binaryPromise = undefined;
  });
  return binaryPromise;
}

/** Runs the harness with `args` and returns its exit code and output (never throws on exit). */
export async function sifref(...args: string[]): Promise<SifrefOutput> {
  const bin = await sifrefBinary();
  const out = await new Deno.Command(bin, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs the harness, throws `SifrefError` on a non-zero exit and parses the JSON output. */
async function sifrefJSON<T>(args: string[]): Promise<T> {
  const out = await sifref(...args);
  if (out.code !== 0) throw new SifrefError(args, out);
  return JSON.parse(out.stdout) as T;
}

// ------------------------------------------------------------------------------------------
// build

/** Object type names understood by `sifref build` / `sifref add`. */
export type SifrefObjectType =
  | "deffile"
  | "envvar"
  | "labels"
  | "partition"
  | "signature"
  | "genericjson"
  | "generic"
  | "cryptomessage"
  | "sbom";

/**
 * One data object of a build spec. Omitted fields take the reference library's defaults
 * (group 1, no link, no name, alignment 4096 for partitions and none otherwise, the image
 * time). Give exactly one of `file` (path, relative to the current directory) and `data`
 * (inline UTF-8 text).
 */
export interface SifrefObjectSpec {
  type: SifrefObjectType;
  file?: string;
  data?: string;
  /** 0 = no group. */
  group?: number;
  linkObject?: number;
  linkGroup?: number;
  name?: string;
  alignment?: number;
  /** Object time, Unix seconds. */
  time?: number;
  /** Partition: 1 Squashfs, 2 Ext3, 3 Archive, 4 Raw, 5 encrypted squashfs (default 1). */
  partFs?: number;
  /** Partition: 1 System, 2 primary system, 3 Data, 4 Overlay (default 1). */
  partType?: number;
  /** Partition arch as a Go arch name (default "amd64"). */
  arch?: string;
  /** Signature: 1 SHA-256, 2 SHA-384, 3 SHA-512, 4 BLAKE2s-256, 5 BLAKE2b-256 (default 1). */
  hashType?: number;
  /** Signature: fingerprint as hex (stored raw in the descriptor). */
  entity?: string;
  /** Crypto message: 1 OpenPGP, 2 PEM (default 1). */
  formatType?: number;
  /** Crypto message: 0x100 clear signature, 0x200 RSA-OAEP (default 0x100). */
  messageType?: number;
  /** SBOM: 1..8 (cyclonedx-json … syft-json). */
  sbomFormat?: number;
}

/** The spec given to `sifref build`. */
export interface SifrefBuildSpec {
  /** Zero UUID and zero Go time (−62135596800) everywhere; otherwise a random UUID and now. */
  deterministic?: boolean;
  launchScript?: string;
  descriptorCapacity?: number;
  /** UUID; overrides the deterministic nil UUID. */
  id?: string;
  /** Image creation time, Unix seconds; overrides the deterministic zero time. */
  time?: number;
  objects?: SifrefObjectSpec[];
}

/** Builds `out` with the reference library; returns the IDs of the objects written. */
export async function buildImage(
  out: string,
  spec: SifrefBuildSpec,
): Promise<{ path: string; ids: number[] }> {
  const specFile = await Deno.makeTempFile({ prefix: "sifref-spec-", suffix: ".json" });
  try {
    await Deno.writeTextFile(specFile, JSON.stringify(spec));
    return await sifrefJSON(["build", out, specFile]);
  } finally {
    await Deno.remove(specFile).catch(() => {});
  }
}

// ------------------------------------------------------------------------------------------
// load

/** The global header as the reference library reports it. */
export interface SifrefHeader {
  launchScript: string;
  version: string;
  /** Go arch name of the primary partition ("unknown" when none). */
  arch: string;
  id: string;
  createdAt: number;
  modifiedAt: number;
  descriptorsFree: number;
  descriptorsTotal: number;
  descriptorsOffset: number;
  descriptorsSize: number;
  dataOffset: number;
  dataSize: number;
}

/** One used descriptor as the reference library reports it. */
export interface SifrefDescriptor {
  id: number;
  /** Logical group (mask removed); 0 = no group. */
  groupId: number;
  linkedId: number;
  linkedIsGroup: boolean;
  dataType: number;
  offset: number;
  size: number;
  createdAt: number;
  modifiedAt: number;
  name: string;
  /** SHA-256 (hex) of the object data read through the library. */
  sha256: string;
  partition?: { fs: number; partType: number; arch: string };
  /** `hash` is Go's name (e.g. "SHA-256"); `entity` is uppercase hex, "" when absent. */
  signature?: { hash: string; entity: string };
  cryptoMessage?: { formatType: number; messageType: number };
  sbomFormat?: number;
  /** Set when the library rejects the type-specific metadata. */
  metadataError?: string;
}

/** What `sifref load` prints. */
export interface SifrefImage {
  header: SifrefHeader;
  descriptors: SifrefDescriptor[];
}

/** Loads `path` read-only with the reference library; throws when the library refuses it. */
export function loadImage(path: string): Promise<SifrefImage> {
  return sifrefJSON(["load", path]);
}

// ------------------------------------------------------------------------------------------
// add

/** Options of `sifref add` (see `SifrefObjectSpec` for the meaning of each field). */
export interface SifrefAddOptions {
  type?: SifrefObjectType;
  group?: number;
  name?: string;
  linkObject?: number;
  linkGroup?: number;
  alignment?: number;
  /** Object and header modification time, Unix seconds (default now). */
  time?: number;
  /** Zero Go time instead of now. */
  deterministic?: boolean;
  partFs?: number;
  partType?: number;
  arch?: string;
}

/** Appends the contents of `dataFile` as a new object; returns its ID. */
export function addObject(
  image: string,
  dataFile: string,
  options: SifrefAddOptions = {},
): Promise<{ id: number }> {
  const args = ["add", image, dataFile];
  const flags: [string, string | number | undefined][] = [
    ["--type", options.type],
    ["--group", options.group],
    ["--name", options.name],
    ["--link-object", options.linkObject],
    ["--link-group", options.linkGroup],
    ["--alignment", options.alignment],
    ["--time", options.time],
    ["--part-fs", options.partFs],
    ["--part-type", options.partType],
    ["--arch", options.arch],
  ];
  for (const [flag, value] of flags) {
    if (value !== undefined) args.push(`${flag}=${value}`);
  }
  if (options.deterministic) args.push("--deterministic");
  return sifrefJSON(args);
}

// ------------------------------------------------------------------------------------------
// sign

/** Options of `sifref sign`. */
export interface SifrefSignOptions {
  /** Armored or binary secret key file; the first entity with a private key signs. */
  key: string;
  passphrase?: string;
  /** One signature per listed group (OptSignGroup). */
  groups?: number[];
  /** Each inner list is one OptSignObjects call. */
  objects?: number[][];
  /** Signature (and descriptor) time, Unix seconds. */
  time?: number;
  /** OptSignDeterministic: zero Go time in the signature descriptor and header. */
  deterministic?: boolean;
}

/** Signs `image` in place like Apptainer; returns the new signature object IDs. */
export function signImage(
  image: string,
  options: SifrefSignOptions,
): Promise<{ signatures: number[]; fingerprint: string }> {
  const args = ["sign", image, `--key=${options.key}`];
  if (options.passphrase !== undefined) args.push(`--passphrase=${options.passphrase}`);
  for (const g of options.groups ?? []) args.push(`--group=${g}`);
  for (const ids of options.objects ?? []) args.push(`--objects=${ids.join(",")}`);
  if (options.time !== undefined) args.push(`--time=${options.time}`);
  if (options.deterministic) args.push("--deterministic");
  return sifrefJSON(args);
}

// ------------------------------------------------------------------------------------------
// verify

/** Options of `sifref verify`. */
export interface SifrefVerifyOptions {
  /** Armored or binary keyring files (an empty file is an empty keyring). None = no keys. */
  keyrings?: string[];
  groups?: number[];
  objects?: number[];
  legacy?: boolean;
  legacyAll?: boolean;
}

/** One VerifyResult reported to the verify callback. */
export interface SifrefVerifyResult {
  signature: number;
  objects: number[];
  /** Uppercase hex primary fingerprint of the signer; "" when unknown. */
  fingerprint: string;
  error: string;
}

/** What `sifref verify` prints. */
export interface SifrefVerification {
  ok: boolean;
  /** The library's error ("integrity: …"), "" when ok. */
  error: string;
  results: SifrefVerifyResult[];
  anySignedBy: string[];
  allSignedBy: string[];
  /** Set when AnySignedBy/AllSignedBy failed. */
  signedByError?: string;
}

/** Verifies `image` with the reference library (never modifies it). */
export function verifyImage(
  image: string,
  options: SifrefVerifyOptions = {},
): Promise<SifrefVerification> {
  const args = ["verify", image];
  for (const k of options.keyrings ?? []) args.push(`--keyring=${k}`);
  for (const g of options.groups ?? []) args.push(`--group=${g}`);
  for (const o of options.objects ?? []) args.push(`--object=${o}`);
  if (options.legacy) args.push("--legacy");
  if (options.legacyAll) args.push("--legacy-all");
  return sifrefJSON(args);
}
