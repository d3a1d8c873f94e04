/**
 * siftrust's verdicts against the reference's (Debian's sif 2.8.3, through the sifref
 * harness), case by case:
 *
 * - the tamper matrix: one change at a time to a signed two-group image (one signed by
 *   siftrust with a gpg-made key, and the corpus `two-groups-signed.sif` with the corpus key):
 *   header fields, every descriptor field of object 1, object data, an object appended after
 *   signing, the signature object's text, Entity and Hashtype, a verifier without the key, an
 *   expired key and a revoked key;
 * - siftrust refuses to sign with expired or revoked keys;
 * - every corpus image (Debian's, including the legacy ones, and the newer shared vectors) in
 *   every verification mode of `apptainer verify` (default, --sif-id, --group-id, --legacy-insecure, --all); DSSE images against the HEAD rows, since
 *   2.8.3 cannot read DSSE.
 *
 * For every case the verdicts must agree and siftrust's error text (`--json` `error`, and the
 * text after `Failed to verify container: ` on stderr) must equal the reference's `error`
 * exactly. Disagreements are collected per test and reported together.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { verifyImage as siftrustVerifyImage } from "../../core/integrity/mod.ts";
import { KeySet, readKeyringFile } from "../../core/keys/mod.ts";
import { DataType, partitionInfo, PartType, SifImage } from "../../core/sif/mod.ts";
import { type CliVerification, cliVerify, runCli } from "../helpers/cli.ts";
import {
  EXPIRED_KEY_CREATED,
  GpgHome,
  type GpgKey,
  type UserDirs,
  userDirs,
} from "../helpers/gpg.ts";
import { corpusImages, REFERENCE_KEY } from "../helpers/images.ts";
import { peerTest, REFERENCE_IMAGES, SHARED_VECTORS } from "../helpers/peers.ts";
import {
  addObject,
  SifrefError,
  type SifrefVerification,
  type SifrefVerifyOptions,
  signImage,
  verifyImage,
} from "../helpers/sifref.ts";
import { inPool } from "../helpers/pool.ts";

const PEERS = ["gpg", "go", REFERENCE_IMAGES];
/** How many cases run at once (2 cores; each case is a subprocess or two). */
const PARALLEL = 3;

// ------------------------------------------------------------------------------------------
// Fixture: one gpg home per file; a signing key, an expired key and a revoked key.

interface Fixture {
  home: GpgHome;
  root: string;
  signer: GpgKey;
  expired: GpgKey;
  revoked: GpgKey;
  /** Binary public keys. */
  signerPublic: string;
  expiredPublic: string;
  /** The revoked key as exported after its revocation. */
  revokedPublic: string;
  /** Users whose key folder holds only this secret key. */
  signerUser: UserDirs;
  expiredUser: UserDirs;
  revokedUser: UserDirs;
  /** The revoked key's secret key exported before the revocation. */
  revokedBeforeUser: UserDirs;
  /** A user with no keys (verification keys come from --keyring). */
  emptyUser: UserDirs;
}

let fixturePromise: Promise<Fixture> | undefined;

function fixture(): Promise<Fixture> {
  fixturePromise ??= (async () => {
    const home = await GpgHome.create();
    const root = join(home.dir, "work");
    await Deno.mkdir(root, { recursive: true });
    const signer = await home.generate("rsa2048");
    const expired = await home.generate("expired");
    const revoked = await home.generate("revoked");
    const user = async (name: string, key: GpgKey) => {
      const dirs = await userDirs(join(root, name));
      await home.makeKeysDir(dirs.keysDir, { secretKeys: [key] });
      return dirs;
    };
    const revokedBeforeUser = await userDirs(join(root, "revoked-before"));
    await Deno.copyFile(
      revoked.beforeRevocation!.secretKey,
      join(revokedBeforeUser.keysDir, "pgp-secret"),
    );
    return {
      home,
      root,
      signer,
      expired,
      revoked,
      signerPublic: await home.exportPublic([signer], join(root, "signer.gpg")),
      expiredPublic: await home.exportPublic([expired], join(root, "expired.gpg")),
      revokedPublic: await home.exportPublic([revoked], join(root, "revoked.gpg")),
      signerUser: await user("signer", signer),
      expiredUser: await user("expired", expired),
      revokedUser: await user("revoked", revoked),
      revokedBeforeUser,
      emptyUser: await userDirs(join(root, "empty")),
    };
  })();
  return fixturePromise;
}

let serial = 0;
function scratch(f: Fixture, name: string): string {
  return join(f.root, `${++serial}-${name}`);
}

// ------------------------------------------------------------------------------------------
// Running both tools.

/** The reference's verification, or the error with which it refused to load the image. */
type ReferenceOutcome = { verification: SifrefVerification } | { loadError: string };

async function referenceVerify(
  image: string,
  options: SifrefVerifyOptions,
): Promise<ReferenceOutcome> {
  try {
    return { verification: await verifyImage(image, options) };
  } catch (error) {
    if (!(error instanceof SifrefError)) throw error;
    return { loadError: error.output.stderr.trim().replace(/^error: /, "") };
  }
}

function describe(s: CliVerification, r: ReferenceOutcome): string {
  const reference = "loadError" in r
    ? `load error ${JSON.stringify(r.loadError)}`
    : `ok=${r.verification.ok} error=${JSON.stringify(r.verification.error)}`;
  return `siftrust exit ${s.code} verified=${s.ok} error=${JSON.stringify(s.error)} ` +
    `stderr=${JSON.stringify(s.stderr.split("\n").at(-1))} | reference ${reference}`;
}

/**
 * The disagreements between the tools (one line, or none): verdict, error text (JSON and
 * stderr), and for verified images the signatures examined and their signers. A load failure
 * must be a load failure in both (siftrust exit 3, its message containing the reference's).
 */
function disagreement(label: string, s: CliVerification, r: ReferenceOutcome): string[] {
  const issues: string[] = [];
  if ("loadError" in r) {
    if (s.code !== 3) issues.push(`the reference cannot load the image; siftrust exit ${s.code}`);
    if (!s.stderr.includes(r.loadError)) issues.push("siftrust's message lacks the reference's");
  } else {
    const v = r.verification;
    if (s.ok !== v.ok) issues.push("verdicts differ");
    if (s.error !== v.error) issues.push("error texts differ");
    if (!v.ok && s.stderrError !== v.error) issues.push("stderr does not end with that error");
    if (v.ok && s.code !== 0) issues.push(`siftrust exit ${s.code}`);
    if (!v.ok && s.code === 0) issues.push("siftrust exit 0");
    if (v.ok && s.ok) {
      const ref = v.results.map((x) => `${x.signature}:${x.fingerprint}`);
      const ours = s.signatures.filter((x) => x.examined).map((x) => `${x.id}:${x.signer ?? ""}`);
      if (ref.join() !== ours.join()) {
        issues.push(`signatures examined: siftrust ${ours}, reference ${ref}`);
      }
    }
  }
  return issues.length === 0 ? [] : [`${label}: ${issues.join("; ")}: ${describe(s, r)}`];
}

function assertNoDisagreement(problems: string[]): void {
  assert.deepEqual(problems, [], `${problems.length} disagreement(s):\n${problems.join("\n")}`);
}

// ------------------------------------------------------------------------------------------
// The tamper matrix.

/** A copy of a signed image being changed: its bytes, and where things are in them. */
class Tamper {
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array, readonly path: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  int64(offset: number): number {
    return Number(this.view.getBigInt64(offset, true));
  }

  setInt64(offset: number, value: number): void {
    this.view.setBigInt64(offset, BigInt(value), true);
  }

  /** File offset of the descriptor of object `id` (docs/sif.md). */
  descriptor(id: number): number {
    const start = this.int64(96);
    const total = this.int64(88);
    for (let slot = 0; slot < total; slot++) {
      const at = start + slot * 585;
      if (this.bytes[at + 4] !== 0 && this.view.getUint32(at + 5, true) === id) return at;
    }
    throw new Error(`no object ${id}`);
  }

  /** File offset and size of object `id`'s data. */
  data(id: number): { offset: number; size: number } {
    const d = this.descriptor(id);
    return { offset: this.int64(d + 17), size: this.int64(d + 25) };
  }

  /** Object `id`'s data as text. */
  text(id: number): string {
    const { offset, size } = this.data(id);
    return new TextDecoder().decode(this.bytes.subarray(offset, offset + size));
  }

  flip(offset: number): void {
    this.bytes[offset] ^= 0x01;
  }
}

/** Which signed image a case starts from. */
interface Base {
  name: string;
  path: string;
  /** The signer's public key (keyring of both tools). */
  keyring: string;
  /** A keyring without the signer's key. */
  otherKeyring: string;
}

interface TamperCase {
  name: string;
  /** Changes the bytes of the copy; `after` then works on the written file. */
  change?: (t: Tamper) => void;
  after?: (path: string, f: Fixture) => Promise<void>;
  /** Verify with a keyring that lacks the signer's key. */
  withoutKey?: boolean;
  /**
   * The reference's result: "ok", its error (without
   * `integrity: `), or "load" (the image cannot be loaded). Left out where the outcome is
   * only recorded: the case then compares the tools, and the test prints what happened.
   */
  expect?: string;
  /** siftrust's exit code for this case when it differs from the default (0 ok, 1 failed). */
  code?: number;
}

const DESCRIPTOR_DIGEST = (id: number) => `data object descriptor integrity compromised: ${id}`;
const DATA_DIGEST = (id: number) => `data object integrity compromised: ${id}`;
/** Object 1's descriptor, then `field` bytes into it. */
const d1 = (t: Tamper, field: number) => t.descriptor(1) + field;

const TAMPER_CASES: TamperCase[] = [
  // Header (128 bytes): LaunchScript, Magic, Version and ID are digested; Arch is skipped.
  {
    name: "header launch script byte",
    change: (t) => t.bytes[0] = 0x23,
    expect: "header integrity compromised",
  },
  { name: "header UUID byte", change: (t) => t.flip(48), expect: "header integrity compromised" },
  { name: "header Arch 01 → 02", change: (t) => t.bytes[46] = 0x32, expect: "ok" },
  { name: "header CreatedAt", change: (t) => t.flip(64), expect: "ok" },
  { name: "header ModifiedAt", change: (t) => t.flip(72), expect: "ok" },
  {
    name: "header DescriptorsFree − 1",
    change: (t) => t.setInt64(80, t.int64(80) - 1),
    expect: "ok",
  },
  { name: "header magic byte", change: (t) => t.bytes[32] = 0x54, expect: "load", code: 3 },
  { name: "header version byte", change: (t) => t.bytes[43] = 0x32, expect: "load", code: 3 },

  // Object 1's descriptor (585 bytes).
  {
    name: "obj 1 DataType → Generic/Raw",
    change: (t) => t.bytes[d1(t, 0)] = 0x07,
    expect: DESCRIPTOR_DIGEST(1),
  },
  // A signature-typed object in group 1: still a member of the group, but not linked to it.
  { name: "obj 1 DataType → Signature", change: (t) => t.bytes[d1(t, 0)] = 0x05 },
  // The object disappears: the group's minimum ID (and every relative ID) shifts.
  { name: "obj 1 Used → 0", change: (t) => t.bytes[d1(t, 4)] = 0 },
  // Go decodes any non-zero byte as true and digests it as 1.
  { name: "obj 1 Used → 2", change: (t) => t.bytes[d1(t, 4)] = 2 },
  { name: "obj 1 ID → 9", change: (t) => t.view.setUint32(d1(t, 5), 9, true) },
  {
    name: "obj 1 GroupID → 3",
    change: (t) => t.view.setUint32(d1(t, 9), 0xf0000003, true),
  },
  {
    name: "obj 1 GroupID → none",
    change: (t) => t.view.setUint32(d1(t, 9), 0xf0000000, true),
    expect: "non-signature object not associated with object group",
  },
  {
    name: "obj 2 GroupID → 3",
    change: (t) => t.view.setUint32(t.descriptor(2) + 9, 0xf0000003, true),
    expect: "object 2: signed object not found",
  },
  {
    name: "obj 1 LinkedID → object 2",
    change: (t) => t.view.setUint32(d1(t, 13), 2, true),
    expect: DESCRIPTOR_DIGEST(1),
  },
  {
    name: "obj 1 Offset + 1",
    change: (t) => t.setInt64(d1(t, 17), t.int64(d1(t, 17)) + 1),
    expect: DATA_DIGEST(1),
  },
  {
    // Object 1 (4 bytes) is followed by alignment padding: move its data there.
    name: "obj 1 data moved, Offset updated",
    change: (t) => {
      const { offset, size } = t.data(1);
      const to = offset + 100;
      t.bytes.copyWithin(to, offset, offset + size);
      t.bytes.fill(0, offset, offset + size);
      t.setInt64(d1(t, 17), to);
    },
    expect: "ok",
  },
  {
    name: "obj 1 Size − 1",
    change: (t) => t.setInt64(d1(t, 25), t.int64(d1(t, 25)) - 1),
    expect: DESCRIPTOR_DIGEST(1),
  },
  {
    name: "obj 1 SizeWithPadding + 1",
    change: (t) => t.setInt64(d1(t, 33), t.int64(d1(t, 33)) + 1),
    expect: "ok",
  },
  { name: "obj 1 CreatedAt", change: (t) => t.flip(d1(t, 41)), expect: DESCRIPTOR_DIGEST(1) },
  { name: "obj 1 ModifiedAt", change: (t) => t.flip(d1(t, 49)), expect: "ok" },
  {
    name: "obj 1 UID → 1000",
    change: (t) => t.setInt64(d1(t, 57), 1000),
    expect: DESCRIPTOR_DIGEST(1),
  },
  {
    name: "obj 1 GID → 1000",
    change: (t) => t.setInt64(d1(t, 65), 1000),
    expect: DESCRIPTOR_DIGEST(1),
  },
  {
    name: "obj 1 Name byte",
    change: (t) => t.bytes[d1(t, 73)] = 0x78,
    expect: DESCRIPTOR_DIGEST(1),
  },
  {
    name: "obj 1 Extra byte 0 (Fstype)",
    change: (t) => t.flip(d1(t, 201)),
    expect: DESCRIPTOR_DIGEST(1),
  },
  {
    name: "obj 1 Extra last byte",
    change: (t) => t.bytes[d1(t, 201 + 383)] = 1,
    expect: DESCRIPTOR_DIGEST(1),
  },

  // Object data.
  ...[1, 2, 3].map((id): TamperCase => ({
    name: `obj ${id} data byte`,
    change: (t) => t.flip(t.data(id).offset + Math.floor(t.data(id).size / 2)),
    expect: DATA_DIGEST(id),
  })),

  // An object added to group 1 after signing.
  {
    name: "object appended to group 1 after signing",
    after: async (path, f) => {
      const data = scratch(f, "appended.txt");
      await Deno.writeTextFile(data, "added later\n");
      await addObject(path, data, { type: "generic", group: 1 });
    },
    expect: "object 6: object not signed",
  },

  // Keys.
  {
    name: "keyring lacks the signer's key",
    withoutKey: true,
    expect: "signature object 4 not valid: openpgp: signature made by unknown entity",
    code: 4,
  },

  // Signature object 4 (group 1).
  {
    name: "signature text: one digit of the signed JSON",
    change: (t) => {
      const at = t.data(4).offset + t.text(4).indexOf('"digest":"sha256:') + 30;
      t.bytes[at] = t.bytes[at] === 0x30 ? 0x31 : 0x30;
    },
    expect: "signature object 4 not valid: openpgp: invalid signature: hash tag doesn't match",
  },
  {
    // In the middle of the last full line of base64: inside the RSA signature value (the
    // packet ends with it). Images from 2.8.3 and siftrust also carry an armor checksum.
    name: "signature armor: one base64 character of the signature value",
    change: (t) => {
      const lines = t.text(4).split("\n");
      const begin = lines.indexOf("-----BEGIN PGP SIGNATURE-----");
      const body = lines.slice(begin + 2).filter((l) => /^[A-Za-z0-9+/]+=*$/.test(l));
      const full = body.filter((l) => l.length === body[0].length).at(-1)!;
      const at = t.data(4).offset + t.text(4).lastIndexOf(full) + Math.floor(full.length / 2);
      t.bytes[at] = t.bytes[at] === 0x41 ? 0x42 : 0x41;
    },
    expect: "signature object 4 not valid: openpgp: invalid signature: RSA verification failure",
  },
  {
    name: "signature Entity byte",
    change: (t) => t.flip(t.descriptor(4) + 201 + 4 + 7),
    expect: "fingerprint in descriptor does not correspond to signing entity",
  },
  {
    name: "signature Hashtype 0",
    change: (t) => t.view.setInt32(t.descriptor(4) + 201, 0, true),
    expect: "hash algorithm unsupported",
  },
  {
    name: "signature Hashtype 2 (SHA-384)",
    change: (t) => t.view.setInt32(t.descriptor(4) + 201, 2, true),
    expect: "ok",
  },
  {
    name: "signature Hashtype 6",
    change: (t) => t.view.setInt32(t.descriptor(4) + 201, 6, true),
    expect: "hash algorithm unsupported",
  },
  {
    name: "signature linked to group 2 instead of 1",
    change: (t) => t.view.setUint32(t.descriptor(4) + 13, 0xf0000002, true),
    expect: "signature not found for object group 1",
  },
  // The signature object becomes a member of the group it signs.
  {
    name: "signature moved into group 1",
    change: (t) => t.view.setUint32(t.descriptor(4) + 9, 0xf0000001, true),
  },
];

/** The two signed two-group images the matrix starts from. */
async function bases(f: Fixture): Promise<Base[]> {
  const ours = scratch(f, "siftrust-signed.sif");
  await Deno.copyFile(join(REFERENCE_IMAGES, "two-groups.sif"), ours);
  const out = await runCli(["sign", ours], { env: f.signerUser.env });
  assert.equal(out.code, 0, out.stderr);
  return [
    {
      name: "siftrust-signed two-groups",
      path: ours,
      keyring: f.signerPublic,
      otherKeyring: REFERENCE_KEY,
    },
    {
      name: "corpus two-groups-signed.sif",
      path: join(REFERENCE_IMAGES, "two-groups-signed.sif"),
      keyring: REFERENCE_KEY,
      otherKeyring: f.signerPublic,
    },
  ];
}

interface TamperRecord {
  label: string;
  siftrust: CliVerification;
  reference: ReferenceOutcome;
}

async function runTamperCase(
  f: Fixture,
  base: Base,
  c: TamperCase,
): Promise<{ problems: string[]; record: TamperRecord }> {
  const path = scratch(f, "tampered.sif");
  const tamper = new Tamper(await Deno.readFile(base.path), path);
  c.change?.(tamper);
  await Deno.writeFile(path, tamper.bytes);
  await c.after?.(path, f);
  const keyring = c.withoutKey ? base.otherKeyring : base.keyring;
  const [s, r] = await Promise.all([
    cliVerify(path, ["--keyring", keyring], f.emptyUser.env),
    referenceVerify(path, { keyrings: [keyring] }),
  ]);
  const label = `${base.name}: ${c.name}`;
  const problems = disagreement(label, s, r);
  if (c.expect !== undefined) {
    const got = "loadError" in r
      ? "load"
      : r.verification.ok
      ? "ok"
      : r.verification.error.replace(/^integrity: /, "");
    if (got !== c.expect) {
      problems.push(`${label}: the reference gives ${got}, expected ${c.expect}`);
    }
  }
  const code = c.code ?? (c.expect === "ok" ? 0 : c.expect === undefined ? undefined : 1);
  if (code !== undefined && s.code !== code) {
    problems.push(`${label}: siftrust exit ${s.code}, expected ${code}: ${describe(s, r)}`);
  }
  await Deno.remove(path);
  return { problems, record: { label, siftrust: s, reference: r } };
}

peerTest(
  "interop matrix: tampered signed images get the reference's verdict and error text",
  PEERS,
  async () => {
    const f = await fixture();
    const jobs = (await bases(f)).flatMap((base) => TAMPER_CASES.map((c) => ({ base, c })));
    const results = await inPool(jobs, PARALLEL, ({ base, c }) => runTamperCase(f, base, c));
    // What the recorded-only cases did.
    for (const { record } of results) {
      if (!TAMPER_CASES.find((c) => record.label.endsWith(`: ${c.name}`))?.expect) {
        console.log(`  ${record.label}: ${describe(record.siftrust, record.reference)}`);
      }
    }
    assertNoDisagreement(results.flatMap((r) => r.problems));
  },
);

// ------------------------------------------------------------------------------------------
// Expired and revoked keys.

peerTest(
  "interop matrix: signatures by an expired or a revoked key fail in both tools",
  PEERS,
  async () => {
    const f = await fixture();
    const problems: string[] = [];

    // The reference signs while the key was valid (mid-2020); verification happens now.
    const expiredImage = scratch(f, "expired.sif");
    await Deno.copyFile(join(REFERENCE_IMAGES, "two-groups.sif"), expiredImage);
    await signImage(expiredImage, {
      key: await f.home.exportSecret([f.expired], scratch(f, "expired-secret.gpg")),
      time: EXPIRED_KEY_CREATED + 150 * 86400,
    });
    // siftrust signs with the revoked key's secret key from before the revocation.
    const revokedImage = scratch(f, "revoked.sif");
    await Deno.copyFile(join(REFERENCE_IMAGES, "two-groups.sif"), revokedImage);
    const signed = await runCli(["sign", revokedImage], { env: f.revokedBeforeUser.env });
    assert.equal(signed.code, 0, signed.stderr);

    for (
      const [what, image, keyring, key] of [
        ["expired key", expiredImage, f.expiredPublic, f.expired],
        ["revoked key", revokedImage, f.revokedPublic, f.revoked],
      ] as const
    ) {
      const [s, r] = await Promise.all([
        cliVerify(image, ["--keyring", keyring], f.emptyUser.env),
        verifyImage(image, { keyrings: [keyring] }),
      ]);
      // Only the verdicts are compared: the reference's wording ("openpgp: key expired",
      // "openpgp: signature made by revoked key") comes from the old go-crypto Debian packages
      // with sif 2.8.3; Apptainer's current go-crypto words and orders these checks
      // differently.
      console.log(`  ${what}: ${describe(s, { verification: r })}`);
      if (r.ok || s.ok || s.code !== 1) {
        problems.push(
          `${what}: both must fail (siftrust exit 1): ${describe(s, { verification: r })}`,
        );
      }
      // Both still name the signer (the key was found).
      const ours = s.signatures.find((x) => x.examined);
      if (ours?.signer !== key.fingerprint || r.results[0]?.fingerprint !== key.fingerprint) {
        problems.push(
          `${what}: signer siftrust ${ours?.signer}, reference ${
            r.results[0]?.fingerprint
          }, expected ${key.fingerprint}`,
        );
      }
    }
    assertNoDisagreement(problems);
  },
);

peerTest(
  "interop matrix: siftrust sign refuses expired and revoked keys (exit 4, fingerprint named)",
  PEERS,
  async () => {
    const f = await fixture();
    for (const [user, key] of [[f.expiredUser, f.expired], [f.revokedUser, f.revoked]] as const) {
      const image = scratch(f, `refused-${key.kind}.sif`);
      await Deno.copyFile(join(REFERENCE_IMAGES, "one-group.sif"), image);
      const before = await Deno.readFile(image);
      const out = await runCli(["sign", image], { env: user.env });
      assert.equal(out.code, 4, `${key.kind}: ${out.stderr}`);
      assert.match(out.stderr, new RegExp(`ERROR: +.*${key.fingerprint}.*cannot sign`));
      assert.match(out.stderr, key.kind === "expired" ? /expired/ : /revoked/);
      assert.deepEqual(await Deno.readFile(image), before, "the image is unchanged");
    }
  },
);

// ------------------------------------------------------------------------------------------
// The corpus, in every verification mode.

interface Mode {
  name: string;
  /** siftrust CLI flags; none = the library (legacy without ids, see below). */
  cli?: string[];
  reference: SifrefVerifyOptions;
}

const MODES: Mode[] = [
  { name: "default", cli: [], reference: {} },
  ...[1, 2].map((g) => ({
    name: `--group-id ${g}`,
    cli: ["--group-id", String(g)],
    reference: { groups: [g] },
  })),
  ...[1, 2, 3].map((o) => ({
    name: `--sif-id ${o}`,
    cli: ["--sif-id", String(o)],
    reference: { objects: [o] },
  })),
  // siftrust's CLI (like Apptainer's) turns --legacy-insecure without ids into the primary
  // partition's object task; the reference library's legacy mode without ids has one legacy
  // group task per group, so that mode is compared through siftrust's library.
  { name: "legacy (library, no ids)", reference: { legacy: true } },
  {
    name: "--legacy-insecure --sif-id 2",
    cli: ["--legacy-insecure", "--sif-id", "2"],
    reference: { legacy: true, objects: [2] },
  },
  {
    name: "--legacy-insecure --all",
    cli: ["--legacy-insecure", "--all"],
    reference: { legacy: true, legacyAll: true },
  },
];

/** The ID of the image's primary system partition, if any. */
async function primaryPartition(path: string): Promise<number | undefined> {
  using image = await SifImage.open(path);
  return image.descriptors.find((d) =>
    d.dataType === DataType.Partition && partitionInfo(d).partType === PartType.PrimarySystem
  )?.id;
}

async function referenceKeys(): Promise<KeySet> {
  const keyring = await readKeyringFile(REFERENCE_KEY);
  return new KeySet(
    keyring.keys.map(({ key }) => ({ key, source: { kind: "file", location: REFERENCE_KEY } })),
  );
}

/** siftrust's library, as a CLI-like result (no exit code, no stderr). */
async function libraryVerify(
  path: string,
  keys: KeySet,
  reference: SifrefVerifyOptions,
): Promise<CliVerification> {
  using image = await SifImage.open(path);
  const report = await siftrustVerifyImage(image, {
    keys,
    groups: reference.groups,
    objects: reference.objects,
    legacy: reference.legacy,
    legacyAll: reference.legacyAll,
  });
  const error = report.outcome.error ?? "";
  const examined = new Set(report.outcome.events.map((e) => e.check.id));
  return {
    code: error === "" ? 0 : 1,
    ok: error === "",
    error,
    stderrError: error,
    signatures: report.checks.map((c) => ({
      id: c.id,
      signer: c.signer?.fingerprint ?? c.signature.fingerprint ?? null,
      dsseKeyIds: [],
      examined: examined.has(c.id),
      error: null,
    })),
    stderr: error === "" ? "" : `library: ${error}`,
  };
}

/** 2.8.3 reads every signature as OpenPGP: DSSE envelopes fail to decode there. */
const NO_DSSE_IN_REFERENCE = /clearsigned message not found/;

peerTest(
  "interop matrix: corpus images in every verification mode get the reference's verdict and error text",
  PEERS,
  async () => {
    const keys = await referenceKeys();
    const env = (await fixture()).emptyUser.env;
    const jobs: { image: string; mode: Mode }[] = [];
    for (const image of corpusImages()) {
      for (const mode of MODES) jobs.push({ image, mode });
      const primary = await primaryPartition(image);
      if (primary !== undefined) {
        jobs.push({
          image,
          mode: {
            name: `--legacy-insecure (primary partition ${primary})`,
            cli: ["--legacy-insecure"],
            reference: { legacy: true, objects: [primary] },
          },
        });
      }
    }
    const skipped: string[] = [];
    const problems = (await inPool(jobs, PARALLEL, async ({ image, mode }) => {
      const label = `${image.split("/").pop()} ${mode.name}`;
      const [s, r] = await Promise.all([
        mode.cli === undefined
          ? libraryVerify(image, keys, mode.reference)
          : cliVerify(image, ["--keyring", REFERENCE_KEY, ...mode.cli], env),
        referenceVerify(image, { keyrings: [REFERENCE_KEY], ...mode.reference }),
      ]);
      if ("verification" in r && NO_DSSE_IN_REFERENCE.test(r.verification.error)) {
        // Checked against the HEAD rows in the next test.
        skipped.push(label);
        return [];
      }
      return disagreement(label, s, r);
    })).flat();
    console.log(`  ${jobs.length} cases, ${skipped.length} DSSE cases left to the HEAD rows`);
    assertNoDisagreement(problems);
  },
);

/** The keyid of the shared test public keys. */
const DSSE_KEY_IDS: Record<string, string> = {
  "ed25519-public.pem": "SHA256:x6l8ZblpSSXGaPMCzySedWg88BwIFcz8jlPb6el0mFs",
  "rsa-public.pem": "SHA256:BhCwr7qZulYcOMSl2Jt2DuYHxHNnN6th4NdMqR/PGa4",
};

peerTest(
  "interop matrix: DSSE corpus images verify with the ed25519 or RSA key and fail with ECDSA (newer library only)",
  [...PEERS, SHARED_VECTORS],
  async () => {
    const env = (await fixture()).emptyUser.env;
    const image = (name: string) => join(SHARED_VECTORS, name);
    // [image, flags, expected error ("" = verified), signatures examined]
    const rows: [string, string[], string, number[]][] = [
      ["one-group-signed-dsse.sif", [], "", [3]],
      ["one-group-signed-dsse.sif", ["--group-id", "1"], "", [3]],
      ["one-group-signed-dsse.sif", ["--group-id", "2"], "integrity: group not found", []],
      ["one-group-signed-dsse.sif", ["--sif-id", "1"], "", [3]],
      ["one-group-signed-dsse.sif", ["--sif-id", "2"], "", [3]],
      ["one-group-signed-dsse.sif", ["--sif-id", "3"], "integrity: invalid group ID", []],
      ["two-groups-signed-dsse.sif", [], "", [4, 5]],
      ["two-groups-signed-dsse.sif", ["--group-id", "1"], "", [4]],
      ["two-groups-signed-dsse.sif", ["--group-id", "2"], "", [5]],
      ["two-groups-signed-dsse.sif", ["--sif-id", "1"], "", [4]],
      ["two-groups-signed-dsse.sif", ["--sif-id", "2"], "", [4]],
      ["two-groups-signed-dsse.sif", ["--sif-id", "3"], "", [5]],
    ];
    const jobs = rows.flatMap((row) => Object.keys(DSSE_KEY_IDS).map((key) => ({ row, key })));
    const problems =
      (await inPool(jobs, PARALLEL, async ({ row: [name, flags, error, ids], key }) => {
        const s = await cliVerify(image(name), ["--key", image(key), ...flags], env);
        const label = `${name} ${flags.join(" ") || "(default)"} --key ${key}`;
        const examined = s.signatures.filter((x) => x.examined);
        const issues: string[] = [];
        if (s.error !== error || s.ok !== (error === "")) {
          issues.push(`error ${JSON.stringify(s.error)}`);
        }
        if (s.code !== (error === "" ? 0 : 1)) issues.push(`exit ${s.code}`);
        if (examined.map((x) => x.id).join() !== ids.join()) {
          issues.push(`examined ${examined.map((x) => x.id)}, expected ${ids}`);
        }
        if (error === "" && !examined.every((x) => x.dsseKeyIds.includes(DSSE_KEY_IDS[key]))) {
          issues.push(`keyids ${JSON.stringify(examined.map((x) => x.dsseKeyIds))}`);
        }
        if (error === "" && !examined.every((x) => x.signer === null)) {
          issues.push("a DSSE signature has no PGP signer");
        }
        return issues.length === 0 ? [] : [`${label}: ${issues.join("; ")} (${s.stderr})`];
      })).flat();

    // The wrong key, and no DSSE key at all.
    for (const name of ["one-group-signed-dsse.sif", "two-groups-signed-dsse.sif"]) {
      const first = name.startsWith("one") ? 3 : 4;
      const ecdsa = await cliVerify(image(name), ["--key", image("ecdsa-public.pem")], env);
      const threshold = `integrity: signature object ${first} not valid: dsse: verify envelope ` +
        "failed: accepted signatures do not match threshold, Found: 0, Expected 1";
      if (ecdsa.error !== threshold || ecdsa.stderrError !== threshold || ecdsa.code !== 1) {
        problems.push(`${name} --key ecdsa-public.pem: exit ${ecdsa.code} ${ecdsa.stderr}`);
      }
      const pgp = await cliVerify(image(name), ["--keyring", image("private.asc")], env);
      const noKey = "integrity: key material not provided for DSSE envelope signature";
      if (pgp.error !== noKey || pgp.stderrError !== noKey || pgp.code !== 4) {
        problems.push(`${name} with a PGP keyring only: exit ${pgp.code} ${pgp.stderr}`);
      }
    }
    assertNoDisagreement(problems);
  },
);

peerTest("interop matrix: cleanup of the gpg home", ["gpg"], async () => {
  if (fixturePromise !== undefined) await (await fixturePromise).home.cleanup();
});
