/**
 * The `--json` shapes of `sif list|info|header` (documented in docs/sif.md).
 *
 * @module
 */

import {
  archName,
  cryptoMessageInfo,
  DataType,
  dataTypeName,
  type Descriptor,
  descriptorName,
  formatTypeName,
  formatUuid,
  fsTypeName,
  hashTypeName,
  messageTypeName,
  ociDigest,
  partitionInfo,
  partTypeName,
  sbomFormat,
  sbomFormatName,
  type SifHeader,
  signatureInfo,
  toHex,
  ZERO_TIME,
} from "../../core/sif/mod.ts";

/** A time as Unix seconds, or null for Go's zero time (which means "not set"). */
const time = (seconds: number) => seconds === ZERO_TIME ? null : seconds;

/** One object, as `sif list --json` and `sif info --json` print it. */
export function objectJson(d: Descriptor): Record<string, unknown> {
  return {
    id: d.id,
    type: dataTypeName(d.dataType),
    typeCode: d.dataType,
    group: d.groupId === 0 ? null : d.groupId,
    link: d.linkedId === 0 ? null : { id: d.linkedId, isGroup: d.linkedIsGroup },
    offset: d.offset,
    size: d.size,
    createdAt: time(d.createdAt),
    modifiedAt: time(d.modifiedAt),
    name: descriptorName(d),
    ...typeFields(d),
  };
}

function typeFields(d: Descriptor): Record<string, unknown> {
  switch (d.dataType) {
    case DataType.Partition: {
      const p = partitionInfo(d);
      return {
        partition: {
          fsType: fsTypeName(p.fsType),
          partType: partTypeName(p.partType),
          arch: p.arch,
        },
      };
    }
    case DataType.Signature: {
      const s = signatureInfo(d);
      return {
        signature: {
          hashType: hashTypeName(s.hashType) ?? null,
          hashTypeCode: s.hashType,
          entity: s.entity === undefined ? null : toHex(s.entity).toUpperCase(),
        },
      };
    }
    case DataType.CryptoMessage: {
      const m = cryptoMessageInfo(d);
      return {
        cryptoMessage: {
          formatType: formatTypeName(m.formatType),
          messageType: messageTypeName(m.messageType),
        },
      };
    }
    case DataType.SBOM:
      return { sbom: { format: sbomFormatName(sbomFormat(d)) } };
    case DataType.OCIRootIndex:
    case DataType.OCIBlob: {
      const digest = ociDigest(d);
      return {
        oci: "digest" in digest
          ? { digest: digest.digest }
          : { digest: null, invalid: digest.invalid },
      };
    }
    default:
      return {};
  }
}

/** The header, as `sif header --json` prints it. */
export function headerJson(h: Readonly<SifHeader>): Record<string, unknown> {
  return {
    launchScript: new TextDecoder().decode(h.launchScript).replace(/\0+$/, ""),
    version: "01",
    primaryArch: archName(h.arch),
    id: formatUuid(h.id),
    createdAt: time(h.createdAt),
    modifiedAt: time(h.modifiedAt),
    descriptorsFree: h.descriptorsFree,
    descriptorsTotal: h.descriptorsTotal,
    descriptorsOffset: h.descriptorsOffset,
    descriptorsSize: h.descriptorsSize,
    dataOffset: h.dataOffset,
    dataSize: h.dataSize,
  };
}
