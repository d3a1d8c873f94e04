/**
 * The signed metadata, byte for byte as the reference builds it (its golden text), and the lenient parsing of what others signed.
 */

import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { digestOf, parseDigest } from "../../core/integrity/digest.ts";
import {
  decodeMetadata,
  descriptorDigestInput,
  encodeMetadata,
  headerDigestInput,
  MetadataError,
  minIdsByGroup,
  minIdsByRawGroup,
} from "../../core/integrity/metadata.ts";
import { findClearsigned } from "../../core/integrity/clearsign.ts";
import { SifImage } from "../../core/sif/mod.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";

/** The metadata of one-group-signed-pgp.sif and one-group-signed-dsse.sif (the reference's golden text). */
const ONE_GROUP_METADATA =
  '{"version":1,"header":{"digest":"sha256:635fa0a14a8ef0c0351ed3e985799ed1d4f75ce973dea3cc76c99710795cc3f1"},"objects":[{"relativeId":0,"descriptorDigest":"sha256:3634ad01db0dd5482ecf685267b53d6201690438ca27c3d7ea91c971a1f41f92","objectDigest":"sha256:004dfc8da678c309de28b5386a1e9efd57f536b150c40d29b31506aa0fb17ec2"},{"relativeId":1,"descriptorDigest":"sha256:04b5f87c9692a54f80d10fb6af00c779763aeca29d610348854bd97cd8bf66fd","objectDigest":"sha256:9f9c4e5e131934969b4ac8f495691c70b8c6c8e3f489c2c9ab5f1af82bce0604"}]}';
/** The metadata of group 2 of the two-groups images. */
const GROUP_2_METADATA =
  '{"version":1,"header":{"digest":"sha256:635fa0a14a8ef0c0351ed3e985799ed1d4f75ce973dea3cc76c99710795cc3f1"},"objects":[{"relativeId":0,"descriptorDigest":"sha256:b356c9810f880c619f95c34909387de498895fc2054ef590ebaeab5c9b50c995","objectDigest":"sha256:d2dd40e7ff6b6753d84c1a85061189e61d4de9688d5531537ff96ff09b1f12dc"}]}';

async function metadataOf(path: string, group: number): Promise<string> {
  using image = await SifImage.open(path);
  const objects = image.descriptors.filter((d) => d.groupId === group);
  const minId = minIdsByGroup(image.descriptors).get(group)!;
  const rawMins = minIdsByRawGroup(image.descriptors);
  const objectDigests = await Promise.all(
    objects.map(async (d) => digestOf("sha256", await image.objectData(d))),
  );
  return encodeMetadata({
    version: 1,
    headerDigest: digestOf("sha256", headerDigestInput(image.header)),
    objects: objects.map((d, i) => ({
      relativeId: d.id - minId,
      descriptorDigest: digestOf("sha256", descriptorDigestInput(d, rawMins)),
      objectDigest: objectDigests[i],
    })),
  });
}

peerTest("the metadata of the reference's unsigned images equals its golden text", [
  REFERENCE_IMAGES,
], async () => {
  assertEquals(await metadataOf(`${REFERENCE_IMAGES}/one-group.sif`, 1), ONE_GROUP_METADATA);
  assertEquals(await metadataOf(`${REFERENCE_IMAGES}/two-groups.sif`, 2), GROUP_2_METADATA);
});

peerTest("the signed corpus images carry exactly that text", [REFERENCE_IMAGES], async () => {
  using image = await SifImage.open(`${REFERENCE_IMAGES}/one-group-signed.sif`);
  const signature = image.descriptor(3)!;
  const block = findClearsigned(new TextDecoder().decode(await image.objectData(signature)));
  assertEquals(block?.plaintext, ONE_GROUP_METADATA);
});

Deno.test("decodeMetadata is as lenient as Go's decoder, and strict about digests", () => {
  const parsed = decodeMetadata(ONE_GROUP_METADATA);
  assertEquals(parsed.objects.map((o) => o.relativeId), [0, 1]);
  assertEquals(encodeMetadata(parsed), ONE_GROUP_METADATA);
  // Keys match case-insensitively, the last duplicate wins, unknown keys are ignored.
  const odd = decodeMetadata(
    '{"VERSION":7,"Header":{"Digest":"sha256:' + "00".repeat(32) +
      '"},"header":{"digest":"sha384:' +
      "11".repeat(48) + '"},"extra":true,"objects":[]}',
  );
  assertEquals([odd.version, odd.headerDigest], [7, { algorithm: "sha384", hex: "11".repeat(48) }]);
  throws(() => decodeMetadata("{"), MetadataError);
  throws(() => decodeMetadata("[]"), /not an object/);
  throws(() => decodeMetadata('{"header":{}}'), /hash algorithm unavailable/);
  throws(() => decodeMetadata('{"header":{"digest":"md5:00"}}'), /hash algorithm unsupported/);
  throws(() => decodeMetadata('{"header":{"digest":"sha256:00"}}'), /digest malformed/);
  throws(() => decodeMetadata('{"header":{"digest":"sha256:aa:bb"}}'), /digest malformed/);
});

Deno.test("parseDigest accepts every algorithm name of the format", () => {
  for (
    const [name, bytes] of [["sha224", 28], ["sha256", 32], ["sha384", 48], ["sha512", 64], [
      "sha512_224",
      28,
    ], ["sha512_256", 32]] as const
  ) {
    assertEquals(parseDigest(`${name}:${"AB".repeat(bytes)}`), {
      algorithm: name,
      hex: "ab".repeat(bytes),
    });
  }
  // The digests the reference computes for those names.
  assertEquals(
    digestOf("sha512_256", new Uint8Array()).hex,
    "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a",
  );
});

Deno.test("findClearsigned follows the reference's decoder", () => {
  const signature = "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n=abcd\n-----END PGP SIGNATURE-----";
  const message = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n{"a":1}\n${signature}`;
  assertEquals(findClearsigned(message), {
    plaintext: '{"a":1}',
    armoredSignature: `${signature}\n`,
  });
  // A prefix before the block is skipped when the block starts a line.
  assertEquals(findClearsigned(`junk\n${message}`)?.plaintext, '{"a":1}');
  assertEquals(findClearsigned(`junk ${message}`), undefined);
  // Only Hash: headers; dash-escaped lines are unescaped; trailing blanks stripped; CRLF accepted.
  assertEquals(findClearsigned(message.replace("Hash: SHA256", "Comment: x")), undefined);
  const escaped =
    `-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256, SHA512\r\n\r\n- -dash\r\nline  \t\r\nSIFHASH:\n${signature}`;
  assertEquals(findClearsigned(escaped)?.plaintext, "-dash\nline\nSIFHASH:");
  assertEquals(findClearsigned(message.replace("-----END PGP SIGNATURE-----", "")), undefined);
  assertEquals(findClearsigned('{"payloadType":"x"}'), undefined);
});
