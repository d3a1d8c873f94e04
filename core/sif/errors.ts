/**
 * Errors of the SIF layer.
 *
 * @module
 */

/** Why an image could not be used. */
export type SifErrorKind =
  /** The file could not be opened or read (missing, a directory, no permission, I/O). */
  | "unreadable"
  /** The bytes are not a SIF image this reader accepts. */
  | "invalid"
  /** A write to the image failed, or the image has no room for it. */
  | "unwritable";

/**
 * An image that cannot be read, is not a valid SIF, or cannot take a write. The message is
 * one line that names the file and says what is wrong.
 */
export class SifError extends Error {
  /** Which of the three failures this is. */
  readonly kind: SifErrorKind;
  /** The image path, when known. */
  readonly path?: string;

  /** Creates an error; `message` should say what is wrong and, where it helps, what to do. */
  constructor(kind: SifErrorKind, message: string, path?: string, options?: ErrorOptions) {
    super(path === undefined ? message : `${path}: ${message}`, options);
    this.name = "SifError";
    this.kind = kind;
    this.path = path;
  }
}
