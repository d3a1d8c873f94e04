/**
 * Real OpenPGP keys for interop tests, made by GnuPG in a throw-away home.
 *
 * One {@linkcode GpgHome} per test file: a private `GNUPGHOME` (mode 0700) in which every
 * command runs with `--batch --pinentry-mode loopback`, so nothing ever prompts. It makes the
 * kinds of keys the tests need ({@linkcode KeyKind}), exports them as keyring files (binary or
 * armored), lays out an Apptainer key folder (`pgp-public`, `pgp-secret`), and checks
 * clear-signed text with `gpg --verify`. RSA-4096 generation is slow: generate each kind once
 * per file and reuse it.
 *
 * Cleanup (`cleanup()`, and a synchronous fallback when the test module unloads) stops the
 * home's gpg-agent with `gpgconf --kill all` and removes the folder.
 *
 * Register tests that use it with `peerTest(name, ["gpg", …], fn)`.
 *
 * @module
 */

import { join } from "node:path";
import { preparedEnv } from "./env.ts";

/** The kinds of keys {@linkcode GpgHome.generate} makes. */
export type KeyKind =
  /** RSA 2048, primary key that signs and certifies. */
  | "rsa2048"
  /** RSA 4096, primary key that signs and certifies. */
  | "rsa4096"
  /** Legacy (v4) EdDSA Ed25519, primary key that signs and certifies. */
  | "ed25519"
  /** A certify-only Ed25519 primary key with an RSA-2048 signing subkey. */
  | "subkey"
  /** RSA 2048 whose secret key is protected with {@linkcode KEY_PASSPHRASE}. */
  | "passphrase"
  /** RSA 2048 created 2020-01-01 that expired 2021-01-01 (made with a faked system time). */
  | "expired"
  /** RSA 2048, revoked by importing its own revocation certificate. */
  | "revoked";

/** The passphrase of the `passphrase` kind of key. */
export const KEY_PASSPHRASE = "correct horse battery staple";

/** Creation and expiry times of the `expired` kind (Unix seconds, as gpg records them). */
export const EXPIRED_KEY_CREATED = 1577836800; // 2020-01-01T00:00:00Z
/** gpg stores an expiry date as noon UTC of that day: 2021-01-01T12:00:00Z. */
export const EXPIRED_KEY_EXPIRES = 1609502400;

/** A key generated in a {@linkcode GpgHome}. */
export interface GpgKey {
  kind: KeyKind;
  /** Primary key fingerprint, 40 upper-case hex digits. */
  fingerprint: string;
  /** 64-bit key ID of the primary key, 16 upper-case hex digits. */
  keyId: string;
  /** For the `subkey` kind: the signing subkey's fingerprint. */
  signingSubkey?: string;
  /** The user ID, `Name <email>`. */
  userId: string;
  /** The secret key's passphrase ("" when it is not protected). */
  passphrase: string;
  /**
   * For the `revoked` kind: the key exported before the revocation was imported (binary
   * files in the gpg home), to sign images "while it was still valid".
   */
  beforeRevocation?: { publicKey: string; secretKey: string };
}

/** What a gpg command printed. */
export interface GpgResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The `[GNUPG:] …` status lines (without that prefix). */
  status: string[];
}

/** What `gpg --verify` concluded about a clear-signed file. */
export interface GpgVerification {
  /** Exit code 0 and a GOODSIG status. */
  ok: boolean;
  /** VALIDSIG fields: the fingerprint of the key that signed, and of its primary key. */
  signingKey?: string;
  primaryKey?: string;
  /** The hash algorithm number of the signature (8 = SHA-256, 10 = SHA-512). */
  hashAlgorithm?: number;
  result: GpgResult;
}

/** Options of {@linkcode GpgHome.run}. */
export interface GpgRunOptions {
  /** The passphrase for loopback pinentry (default ""). */
  passphrase?: string;
  /** Run with this faked system time (gpg's `--faked-system-time` syntax). */
  fakedTime?: string;
  /** Throw when gpg exits non-zero (default true). */
  check?: boolean;
}

const homes = new Set<GpgHome>();
let unloadHooked = false;

function hookUnload(): void {
  if (unloadHooked) return;
  unloadHooked = true;
  globalThis.addEventListener("unload", () => {
    for (const home of homes) home.cleanupSync();
  });
}

/** A throw-away GnuPG home. */
export class GpgHome {
  /** The `GNUPGHOME` folder. */
  readonly dir: string;
  #serial = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates an empty home (mode 0700). */
  static async create(): Promise<GpgHome> {
    const dir = await Deno.makeTempDir({ prefix: "siftrust-gnupg-" });
    await Deno.chmod(dir, 0o700);
    const home = new GpgHome(dir);
    homes.add(home);
    hookUnload();
    return home;
  }

  /** The environment every gpg command of this home runs with. */
  get env(): Record<string, string> {
    return { GNUPGHOME: this.dir, LC_ALL: "C", TZ: "UTC" };
  }

  /** Runs `gpg --batch --pinentry-mode loopback --status-fd 1 ARGS…`. */
  async run(args: string[], options: GpgRunOptions = {}): Promise<GpgResult> {
    const fixed = [
      "--batch",
      "--no-tty",
      "--pinentry-mode",
      "loopback",
      "--passphrase",
      options.passphrase ?? "",
      "--status-fd",
      "1",
    ];
    if (options.fakedTime !== undefined) fixed.push("--faked-system-time", options.fakedTime);
    const out = await new Deno.Command("gpg", {
      args: [...fixed, ...args],
      env: this.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    const stdout = decoder.decode(out.stdout);
    const result: GpgResult = {
      code: out.code,
      stdout,
      stderr: decoder.decode(out.stderr),
      status: stdout.split("\n").filter((line) => line.startsWith("[GNUPG:] ")).map((line) =>
        line.slice("[GNUPG:] ".length)
      ),
    };
    if ((options.check ?? true) && result.code !== 0) {
      throw new Error(`gpg ${args.join(" ")} exited with ${result.code}:\n${result.stderr}`);
    }
    return result;
  }

  /** Generates a key of this kind (a new one on every call). */
  async generate(kind: KeyKind): Promise<GpgKey> {
    const serial = ++this.#serial;
    const userId = `siftrust ${kind} ${serial} <${kind}-${serial}@siftrust.test>`;
    const passphrase = kind === "passphrase" ? KEY_PASSPHRASE : "";
    let fingerprint: string;
    let signingSubkey: string | undefined;
    switch (kind) {
      case "rsa2048":
      case "passphrase":
        fingerprint = await this.#genPrimary(userId, "rsa2048", "sign", "never", { passphrase });
        break;
      case "rsa4096":
        fingerprint = await this.#genPrimary(userId, "rsa4096", "sign", "never");
        break;
      case "ed25519":
        fingerprint = await this.#genPrimary(userId, "ed25519", "sign", "never");
        break;
      case "subkey": {
        fingerprint = await this.#genPrimary(userId, "ed25519", "cert", "never");
        const added = await this.run(["--quick-add-key", fingerprint, "rsa2048", "sign", "never"]);
        signingSubkey = created(added, "S");
        break;
      }
      case "expired":
        // Created 2020-01-01, valid for one year: expired long before any test runs.
        fingerprint = await this.#genPrimary(userId, "rsa2048", "sign", "2021-01-01", {
          fakedTime: "20200101T000000",
        });
        break;
      case "revoked":
        fingerprint = await this.#genPrimary(userId, "rsa2048", "sign", "never");
        break;
    }
    const key: GpgKey = {
      kind,
      fingerprint,
      keyId: fingerprint.slice(-16),
      signingSubkey,
      userId,
      passphrase,
    };
    if (kind === "revoked") {
      key.beforeRevocation = {
        publicKey: await this.exportPublic([key], join(this.dir, `${fingerprint}.pub`)),
        secretKey: await this.exportSecret([key], join(this.dir, `${fingerprint}.sec`)),
      };
      await this.revoke(key);
    }
    return key;
  }

  async #genPrimary(
    userId: string,
    algo: string,
    usage: string,
    expire: string,
    options: GpgRunOptions = {},
  ): Promise<string> {
    return created(await this.run(["--quick-gen-key", userId, algo, usage, expire], options), "P");
  }

  /**
   * Revokes a key by importing the revocation certificate gpg wrote when it made the key
   * (`openpgp-revocs.d/FPR.rev`, whose armor line gpg prefixes with ":" against accidents).
   */
  async revoke(key: GpgKey): Promise<void> {
    const certificate = await Deno.readTextFile(
      join(this.dir, "openpgp-revocs.d", `${key.fingerprint}.rev`),
    );
    const file = join(this.dir, `${key.fingerprint}.rev.asc`);
    await Deno.writeTextFile(file, certificate.replace(/^:-----BEGIN/m, "-----BEGIN"));
    await this.run(["--import", file]);
    const listing = await this.run(["--with-colons", "--list-keys", key.fingerprint]);
    if (!/^pub:r:/m.test(listing.stdout)) {
      throw new Error(`gpg did not mark ${key.fingerprint} revoked:\n${listing.stdout}`);
    }
  }

  /**
   * Writes the public keys to `file`: binary keys concatenated in the order given, or (with
   * `armor`) one armored block holding them all. Returns `file`.
   */
  async exportPublic(
    keys: GpgKey[],
    file: string,
    options: { armor?: boolean } = {},
  ): Promise<string> {
    if (options.armor) {
      await this.run([
        "--yes",
        "--armor",
        "--output",
        file,
        "--export",
        ...keys.map((k) => k.fingerprint),
      ]);
      return file;
    }
    const parts: Uint8Array[] = [];
    for (const key of keys) {
      const part = `${file}.part`;
      await this.run(["--yes", "--output", part, "--export", key.fingerprint]);
      parts.push(await Deno.readFile(part));
      await Deno.remove(part);
    }
    await Deno.writeFile(file, concat(parts));
    return file;
  }

  /**
   * Writes the secret keys to `file` (binary, concatenated in the order given; a protected
   * key keeps its passphrase). Returns `file`.
   */
  async exportSecret(keys: GpgKey[], file: string): Promise<string> {
    const parts: Uint8Array[] = [];
    for (const key of keys) {
      const part = `${file}.part`;
      await this.run(["--yes", "--output", part, "--export-secret-keys", key.fingerprint], {
        passphrase: key.passphrase,
      });
      parts.push(await Deno.readFile(part));
      await Deno.remove(part);
    }
    await Deno.writeFile(file, concat(parts));
    return file;
  }

  /**
   * Fills an Apptainer key folder: `pgp-public` with the `publicKeys` and `pgp-secret` with
   * the `secretKeys` (binary, in that order, so `--keyidx N` is the Nth secret key). A list
   * left out leaves its file absent. Returns `dir`.
   */
  async makeKeysDir(
    dir: string,
    keys: { publicKeys?: GpgKey[]; secretKeys?: GpgKey[] },
  ): Promise<string> {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    if (keys.publicKeys) await this.exportPublic(keys.publicKeys, join(dir, "pgp-public"));
    if (keys.secretKeys) await this.exportSecret(keys.secretKeys, join(dir, "pgp-secret"));
    return dir;
  }

  /** Imports a key file (public or secret, binary or armored) into this home. */
  async importKeys(file: string): Promise<void> {
    await this.run(["--import", file]);
  }

  /** `gpg --verify FILE` of a clear-signed text, against the keys in this home. */
  async verifyClearsigned(file: string): Promise<GpgVerification> {
    const result = await this.run(["--verify", file], { check: false });
    const valid = result.status.find((line) => line.startsWith("VALIDSIG "))?.split(" ");
    return {
      ok: result.code === 0 && result.status.some((line) => line.startsWith("GOODSIG ")),
      // VALIDSIG <fpr> <date> <ts> <expire> <version> <reserved> <pk algo> <hash algo>
      //          <class> <primary fpr>
      signingKey: valid?.[1],
      primaryKey: valid?.[10],
      hashAlgorithm: valid === undefined ? undefined : Number(valid[8]),
      result,
    };
  }

  /** Stops the home's gpg-agent and removes the folder. */
  async cleanup(): Promise<void> {
    if (!homes.delete(this)) return;
    await new Deno.Command("gpgconf", {
      args: ["--kill", "all"],
      env: this.env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output().catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** {@linkcode cleanup}, synchronously (for the module's unload event). */
  cleanupSync(): void {
    if (!homes.delete(this)) return;
    try {
      new Deno.Command("gpgconf", {
        args: ["--kill", "all"],
        env: this.env,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).outputSync();
    } catch {
      // gpgconf missing: nothing was started.
    }
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // Already gone.
    }
  }
}

/** The fingerprint in gpg's `KEY_CREATED <type> <fpr>` status line. */
function created(result: GpgResult, type: "P" | "S"): string {
  const types = type === "P" ? ["P", "B"] : ["S"];
  const line = result.status.find((s) => types.some((t) => s.startsWith(`KEY_CREATED ${t} `)));
  if (line === undefined) throw new Error(`gpg reported no new key:\n${result.stderr}`);
  return line.split(" ")[2].toUpperCase();
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

/** Folders for one siftrust/Apptainer user: home, key folder, system configuration. */
export interface UserDirs {
  home: string;
  keysDir: string;
  sysconfDir: string;
  /** The user's environment: an `isolatedEnv` (tests/helpers/env.ts) in the user's folder. */
  env: Record<string, string>;
}

/**
 * The one environment fixture (`preparedEnv`) in `root`, with `root/etc/apptainer` for the
 * global keyring: siftrust uses these folders and nothing of the real user's.
 */
export async function userDirs(root: string): Promise<UserDirs> {
  const env = await preparedEnv(root);
  await Deno.mkdir(join(env.SIFTRUST_SYSCONFDIR, "apptainer"), { recursive: true });
  return {
    home: env.HOME,
    keysDir: env.APPTAINER_KEYSDIR,
    sysconfDir: env.SIFTRUST_SYSCONFDIR,
    env,
  };
}
