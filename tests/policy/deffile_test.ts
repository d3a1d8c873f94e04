/**
 * `siftrust deffile check` on real signed images (signed by siftrust's signing code with
 * OpenPGP keys, cross-checked with the reference harness where Go is available): the
 * `Fingerprints:` header as Apptainer's build reads it, strict with a list (full verification,
 * then every fingerprint in every group), lenient without one.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import type * as openpgp from "openpgp";
import { DataType } from "../../core/sif/mod.ts";
import { SifImage, signImage } from "../../mod.ts";
import { parseDefinition } from "../../core/deffile/mod.ts";
import { writeCases } from "../helpers/bad_images.ts";
import { type CliResult, runCli, runCliWithin } from "../helpers/cli.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import { sifrefBinary } from "../helpers/sifref.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { isolatedEnv } from "../helpers/env.ts";
import { buildImage } from "../helpers/images.ts";
import { fingerprintOf, newKey } from "../helpers/keys.ts";

const text = (s: string) => new TextEncoder().encode(s);

interface Signer {
  key: openpgp.PrivateKey;
  fingerprint: string;
}

async function newSigner(name: string): Promise<Signer> {
  const key = await newKey(name);
  return { key, fingerprint: fingerprintOf(key) };
}

const alice = await newSigner("alice");
const bob = await newSigner("bob");
const carol = await newSigner("carol");

/** A folder with the keyrings of the signers it is given, and a clean environment. */
interface Site {
  dir: string;
  env: Record<string, string>;
  /** A keyring file holding alice's and bob's public keys (not carol's). */
  keyring: string;
}

async function site(): Promise<Site> {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-deffile-" });
  const keyring = `${dir}/keys.asc`;
  const armored = await Promise.all(
    [alice, bob].map((s) => s.key.toPublic().armor()),
  );
  await Deno.writeTextFile(keyring, armored.join("\n"));
  return {
    dir,
    keyring,
    env: isolatedEnv(dir),
  };
}

/** An image with one group (two groups when `twoGroups`). */
async function makeImage(path: string, twoGroups = false): Promise<void> {
  await buildImage(path, {
    partition: new Uint8Array(8192).fill(7),
    more: twoGroups
      ? [{ dataType: DataType.GenericJSON, data: text('{"b":2}'), groupId: 2, name: "b.json" }]
      : [],
  });
}

async function sign(path: string, signer: Signer, groups?: number[]): Promise<void> {
  using image = await SifImage.open(path, { write: true });
  await signImage(image, { kind: "pgp", key: wrapKey(signer.key) }, { groups });
}

async function recipe(dir: string, name: string, header: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `${header}\n%post\n    echo built\n`);
  return path;
}

async function check(s: Site, args: string[]): Promise<CliResult> {
  return await runCli(["deffile", "check", ...args], { env: s.env });
}

async function withSite(fn: (s: Site) => Promise<void>): Promise<void> {
  const s = await site();
  try {
    await fn(s);
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
}

Deno.test("the Fingerprints: header is read as Apptainer reads it", () => {
  const [stage] = parseDefinition(
    "# a recipe\nBOOTSTRAP: localimage\nfrom: base.sif   # the base\n" +
      `FingerPrints: ${alice.fingerprint.toLowerCase()} ,  ${bob.fingerprint} # both\n` +
      "\n%post\n    Fingerprints: not a header\n",
  );
  assertEquals(stage.fields.bootstrap, "localimage");
  assertEquals(stage.fields.from, "base.sif");
  assertEquals(stage.fingerprints, [alice.fingerprint.toLowerCase(), bob.fingerprint]);
  assertEquals(
    parseDefinition("Bootstrap: localimage\nFrom: x\nFingerprints:\n")[0].fingerprints,
    [],
  );
  assertEquals(
    parseDefinition("Bootstrap: localimage\nFingerprints: # none\n")[0].fingerprints,
    [],
  );
  assertEquals(parseDefinition("Bootstrap: docker\nFrom: a\n\n%post\n")[0].fingerprints, []);
  // Two stages, each with its own header.
  const stages = parseDefinition(
    "Bootstrap: localimage\nFrom: a.sif\nStage: one\n%post\n\nBootstrap: library\nFrom: b\n",
  );
  assertEquals(stages.map((s) => s.fields.bootstrap), ["localimage", "library"]);
});

Deno.test("deffile check: a listed signer that signed every group passes", async () => {
  await withSite(async (s) => {
    await makeImage(`${s.dir}/base.sif`);
    await sign(`${s.dir}/base.sif`, alice);
    // Lower case, a comment after the list: as Apptainer reads the header.
    const def = await recipe(
      s.dir,
      "app.def",
      `Bootstrap: localimage\nFrom: base.sif\nFingerprints: ${alice.fingerprint.toLowerCase()} # alice`,
    );
    const result = await check(s, ["--keyring", s.keyring, def]);
    assertEquals(result.code, 0, result.stderr);
    match(result.stderr, /Checking bootstrap image verifies with fingerprint\(s\): \[/);
    match(result.stderr, /signed by every listed fingerprint/);
  });
});

Deno.test("deffile check: From: is relative to the recipe's folder, not the current one", async () => {
  await withSite(async (s) => {
    await Deno.mkdir(`${s.dir}/recipes/images`, { recursive: true });
    await makeImage(`${s.dir}/recipes/images/base.sif`);
    await sign(`${s.dir}/recipes/images/base.sif`, alice);
    await recipe(
      `${s.dir}/recipes`,
      "app.def",
      `Bootstrap: localimage\nFrom: images/base.sif\nFingerprints: ${alice.fingerprint}`,
    );
    const result = await runCli(
      ["deffile", "check", "--keyring", s.keyring, "recipes/app.def"],
      { env: s.env, cwd: s.dir },
    );
    assertEquals(result.code, 0, result.stderr);
  });
});

Deno.test("deffile check: a listed fingerprint that did not sign fails, naming it", async () => {
  await withSite(async (s) => {
    await makeImage(`${s.dir}/base.sif`);
    await sign(`${s.dir}/base.sif`, alice);
    const def = await recipe(
      s.dir,
      "app.def",
      `Bootstrap: localimage\nFrom: base.sif\nFingerprints: ${alice.fingerprint}, ${bob.fingerprint}`,
    );
    const result = await check(s, ["--keyring", s.keyring, def]);
    assertEquals(result.code, 1, result.stderr);
    match(
      result.stderr,
      new RegExp(
        `image not signed by required entities: ${bob.fingerprint} has not signed group 1`,
      ),
    );
    ok(!result.stderr.includes(`entities: ${alice.fingerprint}`));
  });
});

Deno.test("deffile check: every listed fingerprint must be in every group (AllSignedBy)", async () => {
  await withSite(async (s) => {
    const image = `${s.dir}/base.sif`;
    await makeImage(image, true);
    await sign(image, alice); // groups 1 and 2
    await sign(image, bob, [1]); // group 1 only
    const both = await recipe(
      s.dir,
      "both.def",
      `Bootstrap: localimage\nFrom: base.sif\nFingerprints: ${alice.fingerprint},${bob.fingerprint}`,
    );
    const result = await check(s, ["--keyring", s.keyring, both]);
    assertEquals(result.code, 1, result.stderr);
    match(result.stderr, new RegExp(`${bob.fingerprint} has not signed group 2`));
    const one = await recipe(
      s.dir,
      "alice.def",
      `Bootstrap: localimage\nFrom: base.sif\nFingerprints: ${alice.fingerprint}`,
    );
    const passed = await check(s, ["--keyring", s.keyring, one]);
    assertEquals(passed.code, 0, passed.stderr);
  });
});

peerTest(
  "deffile check agrees with the reference's AllSignedBy",
  ["go", REFERENCE_IMAGES],
  async () => {
    await withSite(async (s) => {
      const image = `${s.dir}/base.sif`;
      await makeImage(image, true);
      await sign(image, alice);
      await sign(image, bob, [1]);
      const binary = `${s.dir}/keys.gpg`;
      await Deno.writeFile(
        binary,
        Uint8Array.from([alice, bob].flatMap((x) => [...x.key.toPublic().write()])),
      );
      const { stdout } = await new Deno.Command(await sifrefBinary(), {
        args: ["verify", image, `--keyring=${binary}`],
        stdout: "piped",
      }).output();
      const reference = JSON.parse(new TextDecoder().decode(stdout));
      assertEquals(reference.ok, true);
      assertEquals(reference.allSignedBy, [alice.fingerprint]);
      for (const [signer, code] of [[alice, 0], [bob, 1]] as const) {
        const def = await recipe(
          s.dir,
          "one.def",
          `Bootstrap: localimage\nFrom: base.sif\nFingerprints: ${signer.fingerprint}`,
        );
        const result = await check(s, ["--keyring", s.keyring, def]);
        assertEquals(result.code, code, result.stderr);
      }
    });
  },
);

Deno.test("deffile check with a list: an unsigned or modified image fails", async () => {
  await withSite(async (s) => {
    await makeImage(`${s.dir}/unsigned.sif`);
    await makeImage(`${s.dir}/modified.sif`);
    await sign(`${s.dir}/modified.sif`, alice);
    await modify(`${s.dir}/modified.sif`);
    for (const [name, error] of [["unsigned", /signature not found/], ["modified", /integrity/]]) {
      const def = await recipe(
        s.dir,
        `${name}.def`,
        `Bootstrap: localimage\nFrom: ${name}.sif\nFingerprints: ${alice.fingerprint}`,
      );
      const result = await check(s, ["--keyring", s.keyring, def]);
      assertEquals(result.code, 1, result.stderr);
      match(result.stderr, error as RegExp);
    }
  });
});

/** Changes one byte of the image's partition, after it was signed. */
async function modify(path: string): Promise<void> {
  let offset: number;
  {
    using image = await SifImage.open(path);
    offset = image.descriptors.find((d) => d.dataType === DataType.Partition)!.offset;
  }
  using file = await Deno.open(path, { write: true });
  await file.seek(offset + 100, Deno.SeekMode.Start);
  await file.write(Uint8Array.of(0x42));
}

Deno.test("deffile check without a list: a failed verification only warns, exit 0", async () => {
  await withSite(async (s) => {
    await makeImage(`${s.dir}/unsigned.sif`);
    await makeImage(`${s.dir}/modified.sif`);
    await sign(`${s.dir}/modified.sif`, alice);
    await modify(`${s.dir}/modified.sif`);
    const unsigned = await check(s, [
      await recipe(s.dir, "u.def", "Bootstrap: localimage\nFrom: unsigned.sif"),
    ]);
    assertEquals(unsigned.code, 0, unsigned.stderr);
    // As Apptainer (before 1.3) warns.
    ok(
      unsigned.stderr.endsWith(
        "WARNING: integrity: signature not found for object group 1\n" +
          "WARNING: Bootstrap image could not be verified, but build will continue.\n",
      ),
      unsigned.stderr,
    );
    const modified = await check(s, [
      "--keyring",
      s.keyring,
      await recipe(s.dir, "m.def", "Bootstrap: localimage\nFrom: modified.sif\nFingerprints:"),
    ]);
    assertEquals(modified.code, 0, modified.stderr);
    match(modified.stderr, /WARNING: .*integrity/);
    match(modified.stderr, /Bootstrap image could not be verified, but build will continue/);
  });
});

Deno.test("deffile check: a signer's key that cannot be found is exit 4", async () => {
  await withSite(async (s) => {
    await makeImage(`${s.dir}/base.sif`);
    await sign(`${s.dir}/base.sif`, carol); // carol's key is in no keyring
    const def = await recipe(
      s.dir,
      "app.def",
      `Bootstrap: localimage\nFrom: base.sif\nFingerprints: ${carol.fingerprint}`,
    );
    const result = await check(s, ["--local", "--keyring", s.keyring, def]);
    assertEquals(result.code, 4, result.stderr);
    match(result.stderr, /unknown entity/);
    match(result.stderr, /--keyring/);
  });
});

Deno.test("deffile check: library and oras recipes need --image", async () => {
  await withSite(async (s) => {
    await makeImage(`${s.dir}/pulled.sif`);
    await sign(`${s.dir}/pulled.sif`, bob);
    for (const agent of ["library", "oras"]) {
      const def = await recipe(
        s.dir,
        `${agent}.def`,
        `Bootstrap: ${agent}\nFrom: example/base:1.0\nFingerprints: ${bob.fingerprint}`,
      );
      const missing = await check(s, ["--keyring", s.keyring, def]);
      assertEquals(missing.code, 2, missing.stderr);
      match(missing.stderr, /--image/);
      const given = await check(s, ["--keyring", s.keyring, "--image", `${s.dir}/pulled.sif`, def]);
      assertEquals(given.code, 0, given.stderr);
    }
    const local = await recipe(s.dir, "local.def", "Bootstrap: localimage\nFrom: pulled.sif");
    const refused = await check(s, ["--image", `${s.dir}/pulled.sif`, local]);
    assertEquals(refused.code, 2, refused.stderr);
  });
});

Deno.test("deffile check: sources that are not SIF images are not verified", async () => {
  await withSite(async (s) => {
    const list = `Fingerprints: ${alice.fingerprint}`;
    await Deno.writeTextFile(`${s.dir}/rootfs.img`, "not a SIF image at all, but long enough\n");
    await Deno.mkdir(`${s.dir}/sandbox`);
    for (
      const header of [
        `Bootstrap: docker\nFrom: alpine:3.20\n${list}`,
        `Bootstrap: localimage\nFrom: rootfs.img\n${list}`,
        `Bootstrap: localimage\nFrom: sandbox\n${list}`,
      ]
    ) {
      const result = await check(s, [await recipe(s.dir, "x.def", header)]);
      assertEquals(result.code, 0, result.stderr);
      match(result.stderr, /WARNING: .*ignores (its|the) Fingerprints: header/);
    }
  });
});

Deno.test("deffile check: a broken recipe or image is a usage error or exit 3", async () => {
  await withSite(async (s) => {
    const bad = await check(s, [
      await recipe(s.dir, "bad.def", "Bootstrap: localimage\nFrom: base.sif\nColour: blue"),
    ]);
    assertEquals(bad.code, 2, bad.stderr);
    match(bad.stderr, /invalid header keyword found: colour/);
    const none = await check(s, [`${s.dir}/nope.def`]);
    assertEquals(none.code, 2, none.stderr);
    const missing = await check(s, [
      await recipe(s.dir, "m.def", `Bootstrap: localimage\nFrom: gone.sif`),
    ]);
    assertEquals(missing.code, 3, missing.stderr);
    await Deno.writeFile(
      `${s.dir}/cut.sif`,
      (await Deno.readFile(await small(s.dir))).slice(0, 200),
    );
    const cut = await check(s, [
      await recipe(s.dir, "c.def", `Bootstrap: localimage\nFrom: cut.sif`),
    ]);
    assertEquals(cut.code, 3, cut.stderr);
  });
});

async function small(dir: string): Promise<string> {
  await makeImage(`${dir}/small.sif`);
  return `${dir}/small.sif`;
}

Deno.test("deffile check: no bad image reaches the internal-error guard", async () => {
  await withSite(async (s) => {
    const paths = await writeCases(s.dir);
    const problems: string[] = [];
    const cases = [...paths.entries()];
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < cases.length) {
        const [name, path] = cases[next++];
        const def = await recipe(
          s.dir,
          `${name}.def`,
          `Bootstrap: localimage\nFrom: ${path}\nFingerprints: ${alice.fingerprint}`,
        );
        const fifo = name === "fifo" ? path : undefined;
        const result = await runCliWithin(["deffile", "check", "--local", def], fifo);
        if (result === undefined) problems.push(`${name}: did not finish within 20 s`);
        else if (
          ![0, 1, 3].includes(result.code) || /internal error/i.test(result.stderr) ||
          /^\s+at /m.test(result.stderr)
        ) {
          problems.push(`${name}: exit ${result.code}: ${result.stderr}`);
        }
      }
    }));
    assertEquals(problems, []);
  });
});
