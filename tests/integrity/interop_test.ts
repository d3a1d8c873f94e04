/**
 * Sign/verify interop with the reference library (Debian's sif 2.8.3, through the sifref
 * harness) and with GnuPG, using keys gpg makes: RSA 2048, RSA 4096, legacy Ed25519, and a
 * certify-only primary key with a signing subkey.
 *
 * For every scenario an image is signed by one tool (or both), then verified by both: the
 * verdicts must agree, siftrust's error text (`--json` `error`, and the text after
 * `Failed to verify container: ` on stderr) must equal the reference's exactly, and verified
 * signatures must name the primary-key fingerprint of the key that made them. Disagreements
 * are collected per test and reported together.
 *
 * Also: gpg verifies the clear-signed message inside siftrust's signature objects, and a
 * passphrase-protected key signs through SIFTRUST_PASSPHRASE and --passphrase-file.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DataType, SifImage, signatureInfo } from "../../core/sif/mod.ts";
import { type CliVerification, cliVerify, runCli } from "../helpers/cli.ts";
import {
  GpgHome,
  type GpgKey,
  KEY_PASSPHRASE,
  type KeyKind,
  type UserDirs,
  userDirs,
} from "../helpers/gpg.ts";
import { buildRealisticImage } from "../helpers/images.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import { type SifrefVerification, signImage, verifyImage } from "../helpers/sifref.ts";
import { inPool } from "../helpers/pool.ts";

const PEERS = ["gpg", "go", REFERENCE_IMAGES];
/** How many scenarios run at once (2 cores; each step is a subprocess). */
const PARALLEL = 3;

type ImageName = "one-group" | "two-groups" | "realistic";
type SigningKind = "rsa2048" | "rsa4096" | "ed25519" | "subkey";
const SIGNING_KINDS: SigningKind[] = ["rsa2048", "rsa4096", "ed25519", "subkey"];
type Tool = "siftrust" | "reference";
/** Where siftrust finds the verification keys: the user's, the system's, or `--keyring`. */
type KeySourceKind = "local" | "global" | "file";

// ------------------------------------------------------------------------------------------
// Fixture: one gpg home per file, each kind of key made once, on first use.

interface KeyMaterial {
  key: GpgKey;
  /** Binary public key. */
  publicFile: string;
  /** Armored public key. */
  armoredFile: string;
  /** Binary secret key (protected when the key is). */
  secretFile: string;
  /** A user whose key folder holds this key (pgp-secret and pgp-public). */
  user: UserDirs;
}

class Fixture {
  readonly home: GpgHome;
  /** Scratch folder (inside the gpg home, so cleanup removes both). */
  readonly root: string;
  #keys = new Map<KeyKind, Promise<KeyMaterial>>();
  #users = new Map<string, Promise<UserDirs>>();
  #realistic?: Promise<string>;
  /** gpg commands run one at a time. */
  #gpgQueue: Promise<unknown> = Promise.resolve();
  #serial = 0;

  constructor(home: GpgHome) {
    this.home = home;
    this.root = join(home.dir, "work");
  }

  /** A new scratch path. */
  path(name: string): string {
    return join(this.root, `${++this.#serial}-${name}`);
  }

  key(kind: KeyKind): Promise<KeyMaterial> {
    let material = this.#keys.get(kind);
    if (material === undefined) {
      const next = this.#gpgQueue.then(() => this.#makeKey(kind));
      this.#gpgQueue = next.catch(() => {});
      material = next;
      this.#keys.set(kind, material);
    }
    return material;
  }

  async #makeKey(kind: KeyKind): Promise<KeyMaterial> {
    const key = await this.home.generate(kind);
    const dir = join(this.root, `key-${kind}`);
    await Deno.mkdir(dir, { recursive: true });
    const user = await userDirs(join(dir, "user"));
    await this.home.makeKeysDir(user.keysDir, { publicKeys: [key], secretKeys: [key] });
    return {
      key,
      publicFile: await this.home.exportPublic([key], join(dir, "public.gpg")),
      armoredFile: await this.home.exportPublic([key], join(dir, "public.asc"), { armor: true }),
      secretFile: await this.home.exportSecret([key], join(dir, "secret.gpg")),
      user,
    };
  }

  /** A pristine copy source of each test image. */
  image(name: ImageName): Promise<string> {
    if (name === "realistic") {
      this.#realistic ??= (async () => {
        const dir = join(this.root, "realistic");
        await Deno.mkdir(dir, { recursive: true });
        const path = join(dir, "realistic.sif");
        await buildRealisticImage(dir, path);
        return path;
      })();
      return this.#realistic;
    }
    return Promise.resolve(join(REFERENCE_IMAGES, `${name}.sif`));
  }

  /**
   * The environment and arguments with which siftrust finds exactly these keys: in the
   * user's `pgp-public`, in the global keyring, or as `--keyring` files (armored).
   */
  async verifier(
    source: KeySourceKind,
    keys: KeyMaterial[],
  ): Promise<{ env: Record<string, string>; args: string[] }> {
    const name = `${source}-${keys.map((k) => k.key.kind).join("+")}`;
    let user = this.#users.get(name);
    if (user === undefined) {
      user = (async () => {
        const dirs = await userDirs(join(this.root, "verifiers", name));
        const keyring = concat(await Promise.all(keys.map((k) => Deno.readFile(k.publicFile))));
        if (source === "local") await Deno.writeFile(join(dirs.keysDir, "pgp-public"), keyring);
        if (source === "global") {
          await Deno.writeFile(join(dirs.sysconfDir, "apptainer", "global-pgp-public"), keyring);
        }
        return dirs;
      })();
      this.#users.set(name, user);
    }
    const dirs = await user;
    const args = source === "file" ? keys.flatMap((k) => ["--keyring", k.armoredFile]) : [];
    return { env: dirs.env, args };
  }

  async cleanup(): Promise<void> {
    await this.home.cleanup();
  }
}

let fixturePromise: Promise<Fixture> | undefined;

function fixture(): Promise<Fixture> {
  fixturePromise ??= (async () => {
    const home = await GpgHome.create();
    const f = new Fixture(home);
    await Deno.mkdir(f.root, { recursive: true });
    return f;
  })();
  return fixturePromise;
}

// ------------------------------------------------------------------------------------------
// Running both tools.

/** One signature as `siftrust verify --json` reports it. */

/** The object IDs of an image's signature objects. */
async function signatureIds(path: string): Promise<number[]> {
  using image = await SifImage.open(path);
  return image.descriptors.filter((d) => d.dataType === DataType.Signature).map((d) => d.id);
}

/** The fingerprint a signature descriptor names (upper-case hex; "" when zero). */
async function descriptorEntity(path: string, id: number): Promise<string> {
  using image = await SifImage.open(path);
  const d = image.descriptor(id);
  if (d === undefined) throw new Error(`${path} has no object ${id}`);
  const entity = signatureInfo(d).entity;
  return entity === undefined ? "" : Array.from(entity, (b) => b.toString(16).padStart(2, "0"))
    .join("").toUpperCase();
}

/** Signs `image` with siftrust's CLI as `material`'s user; returns the new signature IDs. */
async function siftrustSign(
  image: string,
  material: KeyMaterial,
  flags: string[] = [],
  env: Record<string, string> = {},
): Promise<number[]> {
  const before = await signatureIds(image);
  const out = await runCli(["sign", ...flags, image], { env: { ...material.user.env, ...env } });
  if (out.code !== 0) {
    throw new Error(`siftrust sign ${flags.join(" ")} exited with ${out.code}: ${out.stderr}`);
  }
  return (await signatureIds(image)).filter((id) => !before.includes(id));
}

/** Signs `image` with the reference library; returns the new signature IDs. */
async function referenceSign(
  image: string,
  material: KeyMaterial,
  request: { groups?: number[]; objects?: number[] } = {},
): Promise<number[]> {
  const out = await signImage(image, {
    key: material.secretFile,
    passphrase: material.key.passphrase === "" ? undefined : material.key.passphrase,
    groups: request.groups,
    objects: request.objects === undefined ? undefined : [request.objects],
  });
  return out.signatures;
}

function describe(s: CliVerification, r: SifrefVerification): string {
  const stderr = s.stderr.split("\n").at(-1);
  return `siftrust exit ${s.code} verified=${s.ok} error=${JSON.stringify(s.error)} ` +
    `stderr=${JSON.stringify(stderr)} | reference ok=${r.ok} error=${JSON.stringify(r.error)}`;
}

/** What a check expects from the reference (and siftrust's exit code when it fails). */
type Expectation = "ok" | { error: string | RegExp; code: number };

/** Compares one verification by both tools; returns the disagreements found (one line each). */
function compare(
  label: string,
  s: CliVerification,
  r: SifrefVerification,
  expect: Expectation,
  makers: Map<number, GpgKey>,
): string[] {
  const issues: string[] = [];
  if (s.ok !== r.ok) issues.push("verdicts differ");
  if (s.error !== r.error) issues.push("error texts differ");
  if (!r.ok && s.stderrError !== r.error) issues.push("stderr does not end with that error");
  if (expect === "ok") {
    if (!r.ok) issues.push("the reference did not verify");
    if (s.code !== 0) issues.push(`siftrust exit ${s.code}, expected 0`);
  } else {
    const matches = typeof expect.error === "string"
      ? r.error === expect.error
      : expect.error.test(r.error);
    if (!matches) issues.push(`the reference's error is not ${expect.error}`);
    if (s.code !== expect.code) issues.push(`siftrust exit ${s.code}, expected ${expect.code}`);
  }
  if (r.ok && s.ok) {
    // Both name the PRIMARY key of whoever signed, also when a subkey made the signature.
    for (const result of r.results) {
      const maker = makers.get(result.signature);
      if (maker !== undefined && result.fingerprint !== maker.fingerprint) {
        issues.push(
          `reference reports signer ${result.fingerprint} for signature ${result.signature}, expected ${maker.fingerprint}`,
        );
      }
    }
    for (const sig of s.signatures.filter((x) => x.examined)) {
      const maker = makers.get(sig.id);
      if (maker !== undefined && sig.signer !== maker.fingerprint) {
        issues.push(
          `siftrust reports signer ${sig.signer} for signature ${sig.id}, expected ${maker.fingerprint}`,
        );
      }
    }
  }
  return issues.length === 0 ? [] : [`${label}: ${issues.join("; ")}: ${describe(s, r)}`];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Scenarios: sign with one or both tools, then verify with both.

interface Signing {
  by: Tool;
  kind: SigningKind;
  groups?: number[];
  objects?: number[];
}

interface Check {
  /** `--group-id` / `--sif-id`; none = default verify. */
  groups?: number[];
  objects?: number[];
  /** The keys the verifiers get. */
  keys: SigningKind[];
  source: KeySourceKind;
  expect: Expectation;
}

interface Scenario {
  label: string;
  image: ImageName;
  signings: Signing[];
  checks: Check[];
}

/** The reference's error when the verifier lacks the key of a signature. */
const UNKNOWN_ENTITY =
  /^integrity: signature object \d+ not valid: openpgp: signature made by unknown entity$/;

/**
 * The reference (like Apptainer, whose sif signs with `entity.PrivateKey`) always signs with
 * the PRIMARY key, even a certify-only one; go-crypto then finds no signing-capable key with
 * that key ID when verifying, so its own signature fails as made by an unknown entity.
 */
function referenceSignsWithCertifyOnlyKey(signings: Signing[]): boolean {
  return signings.some((s) => s.by === "reference" && s.kind === "subkey");
}

async function runScenario(f: Fixture, scenario: Scenario): Promise<string[]> {
  const problems: string[] = [];
  const image = f.path(`${scenario.image}.sif`);
  await Deno.copyFile(await f.image(scenario.image), image);
  const makers = new Map<number, GpgKey>();
  for (const signing of scenario.signings) {
    const material = await f.key(signing.kind);
    let ids: number[];
    if (signing.by === "siftrust") {
      const flags = [
        ...(signing.groups ?? []).flatMap((g) => ["--group-id", String(g)]),
        ...(signing.objects ?? []).flatMap((o) => ["--sif-id", String(o)]),
      ];
      ids = await siftrustSign(image, material, flags);
    } else {
      ids = await referenceSign(image, material, signing);
    }
    if (ids.length === 0) problems.push(`${scenario.label}: ${signing.by} added no signature`);
    for (const id of ids) {
      makers.set(id, material.key);
      // The descriptor names the primary key, whichever (sub)key signed.
      const entity = await descriptorEntity(image, id);
      if (entity !== material.key.fingerprint) {
        problems.push(
          `${scenario.label}: signature ${id} by ${signing.by} names entity ${entity}, expected the primary ${material.key.fingerprint}`,
        );
      }
      if (signing.kind === "subkey") {
        const info = await runCli(["sif", "info", String(id), "--json", image]);
        const shown = JSON.parse(info.stdout).object?.signature?.entity;
        if (shown !== material.key.fingerprint) {
          problems.push(
            `${scenario.label}: sif info ${id} --json shows entity ${shown}, expected ${material.key.fingerprint}`,
          );
        }
      }
    }
  }
  for (const check of scenario.checks) {
    const keys = await Promise.all(check.keys.map((k) => f.key(k)));
    const { env, args } = await f.verifier(check.source, keys);
    const flags = [
      ...(check.groups ?? []).flatMap((g) => ["--group-id", String(g)]),
      ...(check.objects ?? []).flatMap((o) => ["--sif-id", String(o)]),
    ];
    const [s, r] = await Promise.all([
      cliVerify(image, [...args, ...flags], env),
      verifyImage(image, {
        keyrings: keys.map((k) => check.source === "file" ? k.armoredFile : k.publicFile),
        groups: check.groups,
        objects: check.objects,
      }),
    ]);
    const label = `${scenario.label}, verify ${flags.join(" ") || "(default)"} with ${
      check.keys.join("+")
    } (${check.source})`;
    problems.push(...compare(label, s, r, check.expect, makers));
    if (s.ok) {
      const sources = new Set(s.signatures.filter((x) => x.examined).map((x) => x.keySource));
      if (sources.size !== 1 || !sources.has(check.source)) {
        problems.push(`${label}: siftrust keySource ${[...sources]}, expected ${check.source}`);
      }
    }
  }
  return problems;
}

async function runScenarios(scenarios: Scenario[]): Promise<void> {
  const f = await fixture();
  // Make the keys first (one gpg at a time), then run the scenarios in parallel.
  for (const kind of SIGNING_KINDS) await f.key(kind);
  const problems = (await inPool(scenarios, PARALLEL, (s) => runScenario(f, s))).flat();
  assert.deepEqual(problems, [], `${problems.length} disagreement(s):\n${problems.join("\n")}`);
}

const SOURCE_OF_IMAGE: Record<ImageName, KeySourceKind> = {
  "one-group": "local",
  "two-groups": "file",
  "realistic": "global",
};

const DIRECTIONS: Tool[] = ["siftrust", "reference"];

/** The expectation of a check, given what the reference can verify of its own signatures. */
function expecting(signings: Signing[], expect: Expectation): Expectation {
  return referenceSignsWithCertifyOnlyKey(signings) ? { error: UNKNOWN_ENTITY, code: 4 } : expect;
}

peerTest(
  "interop: default signatures (every group) by each tool verify in the other, 4 key kinds × 3 images",
  [...PEERS, "mksquashfs"],
  async () => {
    const scenarios: Scenario[] = [];
    for (const kind of SIGNING_KINDS) {
      for (const by of DIRECTIONS) {
        for (const image of ["one-group", "two-groups", "realistic"] as ImageName[]) {
          const signings: Signing[] = [{ by, kind }];
          const checks: Check[] = [
            { keys: [kind], source: SOURCE_OF_IMAGE[image], expect: expecting(signings, "ok") },
          ];
          if (image !== "one-group") {
            checks.push({
              groups: [2],
              keys: [kind],
              source: SOURCE_OF_IMAGE[image],
              expect: expecting(signings, "ok"),
            });
          }
          scenarios.push({ label: `${by} signs ${image} with ${kind}`, image, signings, checks });
        }
      }
    }
    await runScenarios(scenarios);
  },
);

peerTest(
  "interop: --group-id 1 signatures: group 1 verifies, default verify lacks group 2, in both tools",
  [...PEERS, "mksquashfs"],
  async () => {
    const scenarios: Scenario[] = [];
    for (const kind of SIGNING_KINDS) {
      for (const by of DIRECTIONS) {
        for (const image of ["two-groups", "realistic"] as ImageName[]) {
          // The reference cannot verify its own certify-only-primary signatures (see
          // referenceSignsWithCertifyOnlyKey); the default-signature test covers that.
          if (by === "reference" && kind === "subkey") continue;
          const signings: Signing[] = [{ by, kind, groups: [1] }];
          const source = SOURCE_OF_IMAGE[image];
          scenarios.push({
            label: `${by} signs ${image} --group-id 1 with ${kind}`,
            image,
            signings,
            checks: [
              {
                keys: [kind],
                source,
                expect: expecting(signings, {
                  error: "integrity: signature not found for object group 2",
                  code: 1,
                }),
              },
              { groups: [1], keys: [kind], source, expect: expecting(signings, "ok") },
            ],
          });
        }
      }
    }
    await runScenarios(scenarios);
  },
);

peerTest(
  "interop: --sif-id 1 signatures: --sif-id 1 verifies, default verify fails with object 2: object not signed, in both tools",
  [...PEERS, "mksquashfs"],
  async () => {
    const scenarios: Scenario[] = [];
    for (const kind of SIGNING_KINDS) {
      for (const by of DIRECTIONS) {
        for (const image of ["one-group", "two-groups", "realistic"] as ImageName[]) {
          // Every image once per key kind and direction would be 24 scenarios: the realistic
          // image (four objects in group 1) is enough for the RSA kinds.
          if (image === "realistic" && kind !== "rsa2048" && kind !== "rsa4096") continue;
          // The reference cannot verify its own certify-only-primary signatures (see
          // referenceSignsWithCertifyOnlyKey); the default-signature test covers that.
          if (by === "reference" && kind === "subkey") continue;
          const signings: Signing[] = [{ by, kind, objects: [1] }];
          const source = SOURCE_OF_IMAGE[image];
          scenarios.push({
            label: `${by} signs ${image} --sif-id 1 with ${kind}`,
            image,
            signings,
            checks: [
              {
                keys: [kind],
                source,
                expect: expecting(signings, {
                  error: "integrity: object 2: object not signed",
                  code: 1,
                }),
              },
              { objects: [1], keys: [kind], source, expect: expecting(signings, "ok") },
            ],
          });
        }
      }
    }
    await runScenarios(scenarios);
  },
);

peerTest(
  "interop: two signatures on group 1 need both keys in both tools (siftrust exit 4 without one)",
  PEERS,
  async () => {
    const pairs: [Signing, Signing][] = [
      [{ by: "siftrust", kind: "rsa2048" }, { by: "reference", kind: "ed25519" }],
      [{ by: "reference", kind: "rsa4096" }, { by: "siftrust", kind: "subkey" }],
      [{ by: "siftrust", kind: "ed25519" }, { by: "siftrust", kind: "rsa4096" }],
      [{ by: "reference", kind: "rsa2048" }, { by: "reference", kind: "rsa4096" }],
    ];
    const scenarios: Scenario[] = [];
    for (const [first, second] of pairs) {
      for (const image of ["one-group", "two-groups"] as ImageName[]) {
        const signings = [{ ...first, groups: [1] }, { ...second, groups: [1] }];
        const missing = { error: UNKNOWN_ENTITY, code: 4 };
        scenarios.push({
          label:
            `${image}: ${first.by} signs group 1 with ${first.kind}, then ${second.by} with ${second.kind}`,
          image,
          signings,
          checks: [
            { groups: [1], keys: [first.kind, second.kind], source: "file", expect: "ok" },
            { groups: [1], keys: [first.kind, second.kind], source: "local", expect: "ok" },
            { groups: [1], keys: [first.kind], source: "file", expect: missing },
            { groups: [1], keys: [second.kind], source: "local", expect: missing },
          ],
        });
      }
    }
    await runScenarios(scenarios);
  },
);

peerTest(
  "interop: gpg --verify accepts the clear-signed message of siftrust's signature objects",
  PEERS,
  async () => {
    const f = await fixture();
    const problems: string[] = [];
    for (const kind of SIGNING_KINDS) {
      const material = await f.key(kind);
      const image = f.path(`gpg-${kind}.sif`);
      await Deno.copyFile(await f.image("one-group"), image);
      const [id] = await siftrustSign(image, material);
      const dump = await runCli(["sif", "dump", String(id), image]);
      assert.equal(dump.code, 0, dump.stderr);
      const file = f.path(`gpg-${kind}.asc`);
      await Deno.writeFile(file, dump.stdoutBytes);
      assert.match(dump.stdout, /^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA(256|512)\n\n\{/);
      const result = await f.home.verifyClearsigned(file);
      const label = `${kind}: gpg --verify`;
      if (!result.ok) problems.push(`${label} failed: ${result.result.stderr}`);
      if (result.primaryKey !== material.key.fingerprint) {
        problems.push(
          `${label}: primary key ${result.primaryKey}, expected ${material.key.fingerprint}`,
        );
      }
      const signer = material.key.signingSubkey ?? material.key.fingerprint;
      if (result.signingKey !== signer) {
        problems.push(`${label}: signed by ${result.signingKey}, expected ${signer}`);
      }
      // The reference accepts SHA-224/256/384/512 only (RSA signatures are SHA-256).
      if (![8, 9, 10, 11].includes(result.hashAlgorithm ?? 0)) {
        problems.push(`${label}: hash algorithm ${result.hashAlgorithm}`);
      }
      if (kind !== "ed25519" && result.hashAlgorithm !== 8) {
        problems.push(`${label}: hash algorithm ${result.hashAlgorithm}, expected 8 (SHA-256)`);
      }
    }
    assert.deepEqual(problems, [], problems.join("\n"));
  },
);

peerTest(
  "interop: a passphrase-protected key signs with SIFTRUST_PASSPHRASE or --passphrase-file; the reference verifies, and back",
  PEERS,
  async () => {
    const f = await fixture();
    const material = await f.key("passphrase");
    const keyring = [material.publicFile];

    const byEnv = f.path("pass-env.sif");
    await Deno.copyFile(await f.image("two-groups"), byEnv);
    assert.deepEqual(
      await siftrustSign(byEnv, material, [], { SIFTRUST_PASSPHRASE: KEY_PASSPHRASE }),
      [4, 5],
    );
    let r = await verifyImage(byEnv, { keyrings: keyring });
    assert.equal(r.error, "");
    assert.deepEqual(r.results.map((x) => x.fingerprint), [
      material.key.fingerprint,
      material.key.fingerprint,
    ]);

    const byFile = f.path("pass-file.sif");
    await Deno.copyFile(await f.image("one-group"), byFile);
    const passFile = f.path("passphrase.txt");
    await Deno.writeTextFile(passFile, `${KEY_PASSPHRASE}\n`);
    assert.deepEqual(await siftrustSign(byFile, material, ["--passphrase-file", passFile]), [3]);
    r = await verifyImage(byFile, { keyrings: keyring });
    assert.equal(r.error, "");

    // A wrong passphrase: nothing is signed, exit 4 (the key is unavailable), the key named.
    const wrong = f.path("pass-wrong.sif");
    await Deno.copyFile(await f.image("one-group"), wrong);
    const out = await runCli(["sign", wrong], {
      env: { ...material.user.env, SIFTRUST_PASSPHRASE: "not the passphrase" },
    });
    assert.equal(out.code, 4, out.stderr);
    assert.match(out.stderr, new RegExp(`wrong passphrase.*${material.key.fingerprint}`));
    assert.deepEqual(await signatureIds(wrong), []);

    // The reference signs with the protected key; siftrust verifies with the user's keyring.
    assert.deepEqual(await referenceSign(wrong, material), [3]);
    const s = await cliVerify(wrong, [], material.user.env);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(s.signatures.map((x) => [x.id, x.signer, x.keySource]), [
      [3, material.key.fingerprint, "local"],
    ]);
  },
);

peerTest("interop: cleanup of the gpg home", ["gpg"], async () => {
  if (fixturePromise !== undefined) await (await fixturePromise).cleanup();
});
