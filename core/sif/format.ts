/**
 * Constants of the SIF file format (spec version 01) and the names the reference
 * tools display for its enumerations.
 *
 * @module
 */

/** Size of the global header in bytes. */
export const HEADER_SIZE = 128;
/** Size of one descriptor record in bytes. */
export const DESCRIPTOR_SIZE = 585;
/** The 10 magic bytes at offset 32: `SIF_MAGIC\0`. */
export const MAGIC: Uint8Array = new TextEncoder().encode("SIF_MAGIC\0");
/** The 3 version bytes at offset 42: `01\0`. */
export const VERSION: Uint8Array = new TextEncoder().encode("01\0");
/** Length of the launch script field. */
export const LAUNCH_SCRIPT_LENGTH = 32;
/** Length of the descriptor name field. */
export const NAME_LENGTH = 128;
/** Length of the descriptor type-specific extra field. */
export const EXTRA_LENGTH = 384;
/** Flag bits stored in every GroupID and in a LinkedID that names a group. */
export const GROUP_MASK = 0xf0000000;
/** Unix seconds of Go's zero `time.Time`, which deterministic images store. */
export const ZERO_TIME = -62135596800;
/** Descriptor capacity of images made by the reference library. */
export const DEFAULT_CAPACITY = 48;
/** Offset of the descriptor table in images made by the reference library. */
export const DEFAULT_DESCRIPTORS_OFFSET = 4096;
/**
 * The most descriptor slots siftrust accepts. The reference writes 48; the cap keeps a
 * corrupt count from costing memory or time.
 */
export const MAX_DESCRIPTORS = 65536;

/** Data object types (descriptor DataType). */
export const DataType = {
  Deffile: 0x4001,
  EnvVar: 0x4002,
  Labels: 0x4003,
  Partition: 0x4004,
  Signature: 0x4005,
  GenericJSON: 0x4006,
  Generic: 0x4007,
  CryptoMessage: 0x4008,
  SBOM: 0x4009,
  OCIRootIndex: 0x400a,
  OCIBlob: 0x400b,
} as const;

const DATA_TYPE_NAMES: Record<number, string> = {
  [DataType.Deffile]: "Def.FILE",
  [DataType.EnvVar]: "Env.Vars",
  [DataType.Labels]: "JSON.Labels",
  [DataType.Partition]: "FS",
  [DataType.Signature]: "Signature",
  [DataType.GenericJSON]: "JSON.Generic",
  [DataType.Generic]: "Generic/Raw",
  [DataType.CryptoMessage]: "Cryptographic Message",
  [DataType.SBOM]: "SBOM",
  [DataType.OCIRootIndex]: "OCI.RootIndex",
  [DataType.OCIBlob]: "OCI.Blob",
};

/** Display name of a data type, e.g. `Def.FILE`; `Unknown` for codes the format lacks. */
export function dataTypeName(code: number): string {
  return DATA_TYPE_NAMES[code] ?? "Unknown";
}

/** Partition file system types. */
export const FsType = {
  Squashfs: 1,
  Ext3: 2,
  ImmutableObjects: 3,
  Raw: 4,
  EncryptedSquashfs: 5,
} as const;

const FS_TYPE_NAMES = ["", "Squashfs", "Ext3", "Archive", "Raw", "Encrypted squashfs"];

/** Display name of a partition file system type; `Unknown` otherwise. */
export function fsTypeName(code: number): string {
  return FS_TYPE_NAMES[code] || "Unknown";
}

/** Partition types. */
export const PartType = { System: 1, PrimarySystem: 2, Data: 3, Overlay: 4 } as const;

const PART_TYPE_NAMES = ["", "System", "*System", "Data", "Overlay"];

/** Display name of a partition type (`*System` for the primary); `Unknown` otherwise. */
export function partTypeName(code: number): string {
  return PART_TYPE_NAMES[code] || "Unknown";
}

/** Hash types a signature descriptor may name (Hashtype 1–5). */
export const HashType = { SHA256: 1, SHA384: 2, SHA512: 3, BLAKE2s256: 4, BLAKE2b256: 5 } as const;

const HASH_TYPE_NAMES = ["", "SHA-256", "SHA-384", "SHA-512", "BLAKE2s-256", "BLAKE2b-256"];

/** Display name of a signature hash type, or undefined when the value is not 1–5. */
export function hashTypeName(code: number): string | undefined {
  return HASH_TYPE_NAMES[code] || undefined;
}

/** Cryptographic message formats. */
export const FormatType = { OpenPGP: 1, PEM: 2 } as const;

/** Display name of a cryptographic message format; `Unknown` otherwise. */
export function formatTypeName(code: number): string {
  return ["", "OpenPGP", "PEM"][code] || "Unknown";
}

/** Cryptographic message types. */
export const MessageType = { ClearSignature: 0x100, RSAOAEP: 0x200 } as const;

/** Display name of a cryptographic message type; `Unknown` otherwise. */
export function messageTypeName(code: number): string {
  if (code === MessageType.ClearSignature) return "Clear Signature";
  if (code === MessageType.RSAOAEP) return "RSA-OAEP";
  return "Unknown";
}

const SBOM_FORMAT_NAMES = [
  "",
  "cyclonedx-json",
  "cyclonedx-xml",
  "github-json",
  "spdx-json",
  "spdx-rdf",
  "spdx-tag-value",
  "spdx-yaml",
  "syft-json",
];

/** Display name of an SBOM format, e.g. `spdx-json`; `unknown` otherwise (lower case). */
export function sbomFormatName(code: number): string {
  return SBOM_FORMAT_NAMES[code] || "unknown";
}

/** Architecture codes (2 ASCII digits) and their Go names. `13` is loong64 (sif ≥ 2.24). */
const ARCHES: Record<string, string> = {
  "01": "386",
  "02": "amd64",
  "03": "arm",
  "04": "arm64",
  "05": "ppc64",
  "06": "ppc64le",
  "07": "mips",
  "08": "mipsle",
  "09": "mips64",
  "10": "mips64le",
  "11": "s390x",
  "12": "riscv64",
  "13": "loong64",
};

/**
 * Go architecture name of a 3-byte arch field (two digits and a NUL), or `unknown`.
 */
export function archName(field: Uint8Array): string {
  if (field.length !== 3 || field[2] !== 0) return "unknown";
  return ARCHES[String.fromCharCode(field[0], field[1])] ?? "unknown";
}

/** The 3-byte arch field for a Go architecture name; undefined when the name is unknown. */
export function archField(name: string): Uint8Array | undefined {
  const code = Object.keys(ARCHES).find((key) => ARCHES[key] === name);
  return code === undefined ? undefined : new TextEncoder().encode(`${code}\0`);
}
