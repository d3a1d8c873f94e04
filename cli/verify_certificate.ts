/**
 * `verify`'s certificate options, as Apptainer 1.4's: `--certificate`,
 * `--certificate-intermediates`, `--certificate-roots` and `--ocsp-verify`, and their turning
 * into the leaf's public key once the chain is trusted (core/x509), with Apptainer's messages.
 *
 * @module
 */

import type { KeyObject } from "node:crypto";
import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import type { CertificateInfo, OcspPost } from "../core/x509/mod.ts";
import { ocspOverHttp } from "../core/x509/ocsp_http.ts";
import { CliError, ExitCode } from "./exit.ts";
import { log } from "./output.ts";

/** The certificate options as commander parses them. */
export interface CertificateOptions {
  /** `--certificate FILE`: the signer's PEM certificate. */
  certificate?: string;
  /** `--certificate-intermediates FILE`: a PEM bundle of intermediates. */
  certificateIntermediates?: string;
  /** `--certificate-roots FILE`: a PEM bundle of roots (default: the system's). */
  certificateRoots?: string;
  /** `--ocsp-verify`: ask OCSP about the chain. */
  ocspVerify?: boolean;
}

/** Adds the certificate options (with Apptainer's environment variables) to `command`. */
export function addCertificateOptions<
  Args extends unknown[],
  Opts extends OptionValues,
  GlobalOpts extends OptionValues,
>(command: Command<Args, Opts, GlobalOpts>) {
  return command
    .addOption(
      new Option("--certificate <file>", "verify DSSE signatures with this PEM certificate's key")
        .env("APPTAINER_VERIFY_CERTIFICATE"),
    )
    .addOption(
      new Option(
        "--certificate-intermediates <file>",
        "PEM intermediate certificates linking --certificate to a root",
      ).env("APPTAINER_VERIFY_INTERMEDIATES"),
    )
    .addOption(
      new Option(
        "--certificate-roots <file>",
        "PEM root certificates to trust (default: the system roots)",
      ).env("APPTAINER_VERIFY_ROOTS"),
    )
    .addOption(
      new Option(
        "--ocsp-verify",
        "check every certificate of the chain but the root with its OCSP responder",
      ).env("APPTAINER_VERIFY_OCSP"),
    );
}

/**
 * The public key of `--certificate` once its chain is trusted, or undefined without
 * `--certificate`. Logs Apptainer's info line.
 * @param ocspPost the HTTP POST for `--ocsp-verify` (default: the project's HTTP client).
 * @throws CliError: exit 2 for a file that cannot be read or holds no certificate, or when no
 * roots are given and the system's are missing; exit 1 when the certificate is not trusted.
 */
export async function certificateKey(
  options: CertificateOptions,
  ocspPost: OcspPost = ocspOverHttp,
): Promise<KeyObject | undefined> {
  if (options.certificate === undefined) return undefined;
  log("info", `Verifying image with key material from certificate '${options.certificate}'`);
  // Loaded only here: its ASN.1 libraries take longer to load than the rest of verify.
  const x509 = await import("../core/x509/mod.ts");
  const { X509Error } = x509;
  const load = (what: string, path: string | undefined) => loadFile(x509, what, path);
  const [leaf] = await load("Failed to load certificate", options.certificate);
  const intermediates = options.certificateIntermediates === undefined
    ? []
    : await load("Failed to load intermediate certificates", options.certificateIntermediates);
  const roots = await load("Failed to load root certificates", options.certificateRoots);
  try {
    const trusted = await x509.verifyCertificate({
      leaf,
      intermediates,
      roots,
      ocsp: options.ocspVerify ? ocspPost : undefined,
    });
    return trusted.publicKey;
  } catch (error) {
    if (!(error instanceof X509Error)) throw error;
    if (error.kind === "revoked" || error.kind.startsWith("ocsp-")) {
      log("warning", `OCSP verification has failed. Err: ${error.message}`);
      throw new CliError(
        "Failed to verify container: OCSP verification has failed",
        ExitCode.Failed,
      );
    }
    throw new CliError(`Failed to verify container: ${error.message}`, ExitCode.Failed);
  }
}

/** The certificates of `path` (the system roots when undefined), or a CliError after `what`. */
async function loadFile(
  { loadCertificates, X509Error }: typeof import("../core/x509/mod.ts"),
  what: string,
  path: string | undefined,
): Promise<CertificateInfo[]> {
  try {
    return await loadCertificates(path);
  } catch (error) {
    if (error instanceof X509Error && error.kind === "no-system-roots") {
      throw new CliError(`Failed to verify container: ${error.message}`, ExitCode.Usage);
    }
    if (error instanceof X509Error) throw new CliError(`${what}: ${error.message}`, ExitCode.Usage);
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : (error as Error).message;
    throw new CliError(`${what}: open ${path}: ${reason}`, ExitCode.Usage);
  }
}
