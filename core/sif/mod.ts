/**
 * `core/sif`: the SIF container format. Reading (constant memory: positioned reads of the
 * header, the descriptor table and, on demand, object data), creating, and appending
 * objects. This layer knows nothing of signatures or keys.
 *
 * @example
 * ```ts
 * import { dataTypeName, SifImage } from "./mod.ts";
 * using image = await SifImage.open("examples/example.sif");
 * console.log(image.descriptors.map((d) => `${d.id} ${dataTypeName(d.dataType)}`));
 * ```
 *
 * @module
 */

export {
  archName,
  DataType,
  dataTypeName,
  DESCRIPTOR_SIZE,
  FormatType,
  formatTypeName,
  FsType,
  fsTypeName,
  GROUP_MASK,
  HashType,
  hashTypeName,
  HEADER_SIZE,
  MessageType,
  messageTypeName,
  PartType,
  partTypeName,
  sbomFormatName,
  ZERO_TIME,
} from "./format.ts";
export { SifError, type SifErrorKind } from "./errors.ts";
export { toHex } from "./binary.ts";
export { formatUuid, isDeterministic, type SifHeader } from "./header.ts";
export { type Descriptor, descriptorName, type ObjectLink } from "./descriptor.ts";
export {
  cryptoMessageExtra,
  type CryptoMessageInfo,
  cryptoMessageInfo,
  ociDigest,
  partitionExtra,
  type PartitionInfo,
  partitionInfo,
  sbomExtra,
  sbomFormat,
  signatureExtra,
  type SignatureInfo,
  signatureInfo,
} from "./extra.ts";
export { CHUNK_SIZE, type OpenOptions, type SameFile, SifImage } from "./image.ts";
export { descriptorInfo, type FileHandle } from "./handle.ts";
export { appendObject, type AppendOptions, type ObjectInput } from "./append.ts";
export { createImage, type CreateOptions } from "./create.ts";
export { primaryPartition } from "./partition.ts";
export { isSifFile, SIF_SNIFF_LENGTH, type SifSniff, sniffSif, sniffSifFile } from "./sniff.ts";
export { OpenImageError, type OpenImageFile, openImageOnce } from "./open_once.ts";
export type { RegularFd } from "./open_fd.ts";
