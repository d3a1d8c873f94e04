/**
 * `sif list|info|header` text, byte for byte as the reference `siftool` (2.8.3) prints it,
 * except that OCI data types get their current names, and untrusted text is escaped.
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
  partitionInfo,
  partTypeName,
  sbomFormat,
  sbomFormatName,
  type SifHeader,
  signatureInfo,
  toHex,
  ZERO_TIME,
} from "../../core/sif/mod.ts";
import { displayText } from "../output.ts";
import { goUtcTime, readableSize } from "./go_format.ts";
import { tabwrite } from "./tabwriter.ts";

const RULE = "-".repeat(78);

/** The `list` table of an image's objects. */
export function listText(descriptors: readonly Descriptor[]): string {
  const rows = [
    RULE,
    `${"ID".padEnd(4)} ${"|GROUP".padEnd(8)} ${"|LINK".padEnd(8)} ${
      "|SIF POSITION (start-end)".padEnd(26)
    } |TYPE`,
    RULE,
  ];
  for (const d of descriptors) {
    const group = d.groupId === 0 ? "|NONE   " : `|${String(d.groupId).padEnd(7)}`;
    const link = d.linkedId === 0
      ? "|NONE   "
      : d.linkedIsGroup
      ? `|${String(d.linkedId).padEnd(3)} (G)`
      : `|${String(d.linkedId).padEnd(7)}`;
    const position = `|${d.offset}-${d.offset + d.size} `.padEnd(26);
    rows.push(`${String(d.id).padEnd(4)} ${group} ${link} ${position} |${typeSummary(d)}`);
  }
  return rows.join("\n") + "\n";
}

/** The TYPE column: the data type and, for some types, its metadata in parentheses. */
function typeSummary(d: Descriptor): string {
  const name = dataTypeName(d.dataType);
  switch (d.dataType) {
    case DataType.Partition: {
      const p = partitionInfo(d);
      return `${name} (${fsTypeName(p.fsType)}/${partTypeName(p.partType)}/${p.arch})`;
    }
    case DataType.Signature:
      return `${name} (${hashName(signatureInfo(d).hashType)})`;
    case DataType.CryptoMessage: {
      const m = cryptoMessageInfo(d);
      return `${name} (${formatTypeName(m.formatType)}/${messageTypeName(m.messageType)})`;
    }
    case DataType.SBOM:
      return `${name} (${sbomFormatName(sbomFormat(d))})`;
    default:
      return name;
  }
}

/**
 * Name of a signature hash type. siftool prints a broken row (or nothing) for a value
 * outside 1–5; siftrust says what the value is.
 */
function hashName(hashType: number): string {
  return hashTypeName(hashType) ?? `unsupported hash type ${hashType}`;
}

/** The `info` rows of one object. */
export function infoText(d: Descriptor): string {
  const rows: [string, string][] = [
    ["Data Type", dataTypeName(d.dataType)],
    ["ID", String(d.id)],
    ["Group ID", d.groupId === 0 ? "NONE" : String(d.groupId)],
    [
      "Linked ID",
      d.linkedId === 0 ? "NONE" : d.linkedIsGroup ? `${d.linkedId} (G)` : String(d.linkedId),
    ],
    ["Offset", String(d.offset)],
    ["Size", String(d.size)],
  ];
  if (d.createdAt !== ZERO_TIME) rows.push(["Created At", goUtcTime(d.createdAt)]);
  if (d.modifiedAt !== ZERO_TIME) rows.push(["Modified At", goUtcTime(d.modifiedAt)]);
  const name = descriptorName(d);
  if (name !== "") rows.push(["Name", displayText(name)]);
  switch (d.dataType) {
    case DataType.Partition: {
      const p = partitionInfo(d);
      rows.push(
        ["Filesystem Type", fsTypeName(p.fsType)],
        ["Partition Type", partTypeName(p.partType)],
        ["Architecture", p.arch],
      );
      break;
    }
    case DataType.Signature: {
      const s = signatureInfo(d);
      rows.push(["Hash Type", hashName(s.hashType)]);
      if (s.entity !== undefined) rows.push(["Entity", toHex(s.entity).toUpperCase()]);
      break;
    }
    case DataType.CryptoMessage: {
      const m = cryptoMessageInfo(d);
      rows.push(
        ["Format Type", formatTypeName(m.formatType)],
        ["Message Type", messageTypeName(m.messageType)],
      );
      break;
    }
    case DataType.SBOM:
      rows.push(["Format", sbomFormatName(sbomFormat(d))]);
      break;
  }
  return tabwrite(rows.map(([key, value]) => `\t${key}:\t${value}\n`).join(""), 2);
}

/** The `header` rows of an image. */
export function headerText(h: Readonly<SifHeader>): string {
  const rows: [string, string][] = [];
  const launchScript = new TextDecoder().decode(h.launchScript).replace(/\0+$/, "").replace(
    /\n$/,
    "",
  );
  if (launchScript !== "") rows.push(["Launch Script", displayText(launchScript)]);
  rows.push(["Version", "01"]);
  const arch = archName(h.arch);
  if (arch !== "unknown") rows.push(["Primary Architecture", arch]);
  const id = formatUuid(h.id);
  if (id !== "00000000-0000-0000-0000-000000000000") rows.push(["ID", id]);
  if (h.createdAt !== ZERO_TIME) rows.push(["Created At", goUtcTime(h.createdAt)]);
  if (h.modifiedAt !== ZERO_TIME) rows.push(["Modified At", goUtcTime(h.modifiedAt)]);
  rows.push(
    ["Descriptors Free", String(h.descriptorsFree)],
    ["Descriptors Total", String(h.descriptorsTotal)],
    ["Descriptors Offset", String(h.descriptorsOffset)],
    ["Descriptors Size", readableSize(h.descriptorsSize)],
    ["Data Offset", String(h.dataOffset)],
    ["Data Size", readableSize(h.dataSize)],
  );
  return tabwrite(rows.map(([key, value]) => `${key}:\t${value}\n`).join(""), 1);
}
