/**
 * What several benchmarks set up the same way: a throw-away signing key, a deterministic signed
 * image, and an offline policy that trusts that key from `key.pub.asc` beside it.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { signImage } from "../core/integrity/mod.ts";
import { wrapKey } from "../core/keys/pgp_key.ts";
import {
  createImage,
  DataType,
  FsType,
  partitionExtra,
  PartType,
  SifImage,
} from "../core/sif/mod.ts";
import { humanSize, patternData } from "./measure.ts";

/**
 * Writes an image with one `bytes`-byte squashfs partition of pseudo-random data (`seed`),
 * signed with `key`, at `path` (made beside it, then renamed into place).
 */
export async function makeSignedImage(
  path: string,
  bytes: number,
  seed: number,
  key: openpgp.PrivateKey,
): Promise<void> {
  console.log(`creating ${path} (${humanSize(bytes)} partition)…`);
  const partial = `${path}.tmp`;
  (await createImage(partial, {
    deterministic: true,
    objects: [{
      dataType: DataType.Partition,
      data: patternData(bytes, seed),
      name: "bench-rootfs.squashfs",
      extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
    }],
  })).close();
  {
    using image = await SifImage.open(partial, { write: true });
    await signImage(image, { kind: "pgp", key: wrapKey(key) });
  }
  await Deno.rename(partial, path);
}

/**
 * Writes `DIR/policy.yaml` (mode 0644): one signer, `bench`, with this fingerprint, its key in
 * `DIR/key.pub.asc`, offline. `by` names the benchmark in the file's first line.
 */
export async function writeBenchPolicy(
  dir: string,
  fingerprint: string,
  by: string,
): Promise<string> {
  const path = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    path,
    [
      `# ${by} benchmark policy (made by bench/${by}.ts)`,
      "version: 1",
      "signers:",
      `  bench:\n    fingerprint: "${fingerprint}"`,
      "keys:",
      "  files: [key.pub.asc]",
      "  local: false",
      "  offline: true",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  return path;
}

/** A benchmark's throw-away signing key, and where its public key is. */
export interface BenchKey {
  /** The secret key. */
  key: openpgp.PrivateKey;
  /** Its fingerprint, upper-case hex. */
  fingerprint: string;
  /** `DIR/key.pub.asc`. */
  publicFile: string;
}

/**
 * The throw-away Ed25519 key of the benchmark `by`, kept in `DIR/key.sec.asc` so that images
 * signed by a former run stay valid; its public key is (re)written to `DIR/key.pub.asc`.
 */
export async function benchKey(dir: string, by: string): Promise<BenchKey> {
  const secretFile = `${dir}/key.sec.asc`;
  const publicFile = `${dir}/key.pub.asc`;
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: await Deno.readTextFile(secretFile) });
  } catch {
    const made = await openpgp.generateKey({
      type: "ecc",
      curve: "ed25519Legacy",
      userIDs: [{ name: `siftrust ${by} bench (throw-away)` }],
      format: "object",
    });
    key = made.privateKey;
    await Deno.writeTextFile(secretFile, key.armor(), { mode: 0o600 });
  }
  await Deno.writeTextFile(publicFile, key.toPublic().armor(), { mode: 0o644 });
  return { key, fingerprint: key.getFingerprint().toUpperCase(), publicFile };
}
