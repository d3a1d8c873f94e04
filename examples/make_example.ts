/**
 * Makes the example images with siftrust's own code:
 *
 * - `examples/example.sif`: a small deterministic image laid out like one `apptainer build`
 *   makes (definition file, labels, environment, and a root file system partition), unsigned;
 * - `examples/example-signed.sif`: the same image, its one group signed with the example key
 *   (`examples/example-key.sec.asc`) as `siftrust sign` signs it.
 *
 * Run from the repository root:
 *
 * ```sh
 * deno run --allow-read=examples --allow-write=examples examples/make_example.ts
 * ```
 *
 * The example key is a throw-away demo key whose secret half is committed on purpose, so that
 * anyone can re-make the signed image: never trust it for anything but the demo. It was made
 * once with `examples/make_example.ts --new-key`, which refuses to replace an existing key.
 *
 * Tests rebuild both images: the unsigned one must be identical to the committed file, and the
 * signed one must hold the same objects and verify with `examples/example-key.pub.asc`.
 *
 * @module
 */

import * as openpgp from "openpgp";
import {
  createImage,
  DataType,
  FsType,
  partitionExtra,
  PartType,
  SifImage,
  signImage,
} from "../mod.ts";
import { wrapKey } from "../core/keys/pgp_key.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** When the example key was made, and when the example image is signed (fixed: reproducible). */
export const EXAMPLE_KEY_DATE: Date = new Date("2026-01-01T00:00:00Z");

/** The example key's user ID: it says what the key is. */
export const EXAMPLE_KEY_USER = {
  name: "siftrust example key (DEMO ONLY: its secret key is public, never trust it)",
  email: "example@siftrust.invalid",
};

/** The comment line of the example key's armor. */
const ARMOR_COMMENT = "siftrust DEMO key: the secret key is public, NEVER trust it";

/** Writes the unsigned example image to `path`. */
export async function makeExample(path: string): Promise<void> {
  const image = await createImage(path, {
    deterministic: true,
    launchScript: "#!/usr/bin/env run-singularity\n",
    objects: [
      {
        dataType: DataType.Deffile,
        data: text(
          "Bootstrap: scratch\n\n%files\n    hello.txt /hello.txt\n\n%labels\n    Author siftrust\n",
        ),
      },
      {
        dataType: DataType.Labels,
        data: text('{"Author":"siftrust","org.label-schema.schema-version":"1.0"}'),
      },
      { dataType: DataType.EnvVar, data: text("export LC_ALL=C\n"), name: "90-environment.sh" },
      {
        dataType: DataType.Partition,
        data: text("hello from the siftrust example image\n"),
        extra: partitionExtra(FsType.Raw, PartType.PrimarySystem, "amd64"),
      },
    ],
  });
  image.close();
}

/**
 * Writes the signed example image to `path`: the unsigned example, its group signed with the
 * armored secret key `armoredSecretKey` at {@linkcode EXAMPLE_KEY_DATE}. With an RSA key the
 * result is the same on every run (openpgp.js's random salt notation is left out).
 */
export async function makeSignedExample(path: string, armoredSecretKey: string): Promise<void> {
  const key = await openpgp.readPrivateKey({ armoredKey: armoredSecretKey });
  await makeExample(path);
  using image = await SifImage.open(path, { write: true });
  const salted = openpgp.config.nonDeterministicSignaturesViaNotation;
  openpgp.config.nonDeterministicSignaturesViaNotation = false;
  try {
    await signImage(image, { kind: "pgp", key: wrapKey(key) }, { date: EXAMPLE_KEY_DATE });
  } finally {
    openpgp.config.nonDeterministicSignaturesViaNotation = salted;
  }
}

/** Makes a new example key pair (RSA 4096, no passphrase, no expiry), armored. */
export async function makeExampleKey(): Promise<{ publicKey: string; privateKey: string }> {
  const { publicKey, privateKey } = await openpgp.generateKey({
    type: "rsa",
    rsaBits: 4096,
    userIDs: [EXAMPLE_KEY_USER],
    date: EXAMPLE_KEY_DATE,
    format: "armored",
    config: { showComment: true, commentString: ARMOR_COMMENT },
  });
  return { publicKey, privateKey };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const here = (name: string) => new URL(`./${name}`, import.meta.url).pathname;
  if (Deno.args.includes("--new-key")) {
    for (const name of ["example-key.pub.asc", "example-key.sec.asc"]) {
      if (await exists(here(name))) {
        console.error(`examples/${name} exists: remove both key files first to make a new key`);
        Deno.exit(1);
      }
    }
    const { publicKey, privateKey } = await makeExampleKey();
    await Deno.writeTextFile(here("example-key.pub.asc"), publicKey);
    await Deno.writeTextFile(here("example-key.sec.asc"), privateKey);
    console.log(
      "made a new example key: update the fingerprint in examples/site.yaml, then re-run without --new-key",
    );
    Deno.exit(0);
  }
  await makeExample(here("example.sif"));
  await makeSignedExample(
    here("example-signed.sif"),
    await Deno.readTextFile(here("example-key.sec.asc")),
  );
}
