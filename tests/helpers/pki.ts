/**
 * A real test PKI made with `openssl` in a temporary folder: a root, an intermediate and an
 * unrelated root (each an `openssl ca` database, so certificates can be revoked, listed in
 * CRLs and answered for by `openssl ocsp`), leaves of any key type and extensions, CRLs with
 * chosen dates and OCSP responders on 127.0.0.1.
 *
 * Every certificate carries subject and authority key IDs; certificates issued by a CA name
 * that CA's responder port in their AIA extension.
 *
 * @module
 */

import { join } from "node:path";

/** Key algorithms the PKI can issue. */
export type PkiKeyType = "rsa" | "p256" | "p384" | "ed25519";

/** One certificate authority: its files and the port of its OCSP responder. */
export interface PkiCa {
  /** A short name, also its folder name. */
  readonly name: string;
  /** Its folder (index.txt, serial, config). */
  readonly dir: string;
  /** Its certificate, PEM. */
  readonly cert: string;
  /** Its private key, PEM. */
  readonly key: string;
  /** The `openssl ca` configuration. */
  readonly config: string;
  /** The 127.0.0.1 port named in the AIA of the certificates it issues. */
  readonly ocspPort: number;
}

/** A certificate and its key, both PEM files. */
export interface PkiCert {
  /** The certificate file. */
  readonly cert: string;
  /** The private key file. */
  readonly key: string;
}

/** What to put in an issued certificate. */
export interface IssueOptions {
  /** Key type (default p256). */
  keyType?: PkiKeyType;
  /** extendedKeyUsage names (default `["codeSigning"]`; empty: no extension). */
  eku?: string[];
  /** A CA certificate (basicConstraints CA:TRUE, keyCertSign). */
  ca?: boolean;
  /** `openssl ca -startdate`, `YYYYMMDDHHMMSSZ`. */
  startDate?: string;
  /** `openssl ca -enddate`, `YYYYMMDDHHMMSSZ`. */
  endDate?: string;
  /** Add id-pkix-ocsp-nocheck (for delegated OCSP responders). */
  ocspNoCheck?: boolean;
  /** Leave out the AIA OCSP URL. */
  noAia?: boolean;
  /** Add a critical extension no verifier knows (OID 1.3.6.1.4.1.55555.1). */
  unknownCritical?: boolean;
}

/** A running `openssl ocsp`; dispose of it to stop it. */
export interface OcspResponder extends AsyncDisposable {
  /** Its URL on 127.0.0.1. */
  readonly url: string;
}

/** The test PKI; dispose of it to delete its folder. */
export class TestPki implements AsyncDisposable {
  /** The trust anchor. */
  readonly root: PkiCa;
  /** Issued by the root; issues the leaves. */
  readonly intermediate: PkiCa;
  /** A second, unrelated root. */
  readonly otherRoot: PkiCa;
  /** The temporary folder. */
  readonly dir: string;
  #count = 0;

  private constructor(dir: string, root: PkiCa, intermediate: PkiCa, otherRoot: PkiCa) {
    this.dir = dir;
    this.root = root;
    this.intermediate = intermediate;
    this.otherRoot = otherRoot;
  }

  /** Makes the root (RSA), the intermediate (P-384) and the other root (P-256). */
  static async create(): Promise<TestPki> {
    const dir = await Deno.makeTempDir({ prefix: "siftrust-pki-" });
    const root = await selfSignedCa(dir, "root", "Siftrust Test Root", "rsa");
    const intermediate = await caFiles(dir, "intermediate", await freePort());
    await issueInto(root, intermediate, "Siftrust Test Intermediate", "p384", { ca: true });
    const otherRoot = await selfSignedCa(dir, "other", "Siftrust Other Root", "p256");
    return new TestPki(dir, root, intermediate, otherRoot);
  }

  /** Issues a certificate for `commonName` from `ca` (default: the intermediate). */
  async issue(
    commonName: string,
    options: IssueOptions = {},
    ca: PkiCa = this.intermediate,
  ): Promise<PkiCert> {
    const base = join(this.dir, `cert${++this.#count}`);
    const target = { cert: `${base}.pem`, key: `${base}.key` };
    await issueInto(ca, target, commonName, options.keyType ?? "p256", options);
    return target;
  }

  /**
   * Adds a CA named `name` (its folder) issued by `parent` (default: the root); `options.ca`
   * false makes a certificate without the CA constraint that still issues certificates.
   */
  async addCa(
    name: string,
    commonName: string,
    options: IssueOptions = {},
    parent: PkiCa = this.root,
  ): Promise<PkiCa> {
    const ca = await caFiles(this.dir, name, await freePort());
    await issueInto(parent, ca, commonName, options.keyType ?? "p256", {
      eku: [],
      ...options,
      ca: options.ca ?? true,
    });
    return ca;
  }

  /** Marks `cert` revoked in `ca`'s database (keyCompromise). */
  async revoke(cert: string, ca: PkiCa = this.intermediate): Promise<void> {
    await openssl(
      ["ca", "-config", ca.config, "-batch", "-revoke", cert, "-crl_reason", "keyCompromise"],
    );
  }

  /**
   * Writes `ca`'s CRL (PEM, or DER with `der`) and returns its path; dates as
   * `YYYYMMDDHHMMSSZ` (default: now and in 30 days).
   */
  async crl(
    ca: PkiCa = this.intermediate,
    dates: { lastUpdate?: string; nextUpdate?: string; der?: boolean } = {},
  ): Promise<string> {
    const pem = join(this.dir, `crl${++this.#count}.pem`);
    const args = ["ca", "-config", ca.config, "-batch", "-gencrl", "-out", pem];
    if (dates.lastUpdate) args.push("-crl_lastupdate", dates.lastUpdate);
    if (dates.nextUpdate) args.push("-crl_nextupdate", dates.nextUpdate);
    else args.push("-crldays", "30");
    await openssl(args);
    if (!dates.der) return pem;
    const der = pem.replace(/\.pem$/, ".der");
    await openssl(["crl", "-in", pem, "-outform", "DER", "-out", der]);
    return der;
  }

  /**
   * Starts `openssl ocsp` for `ca`'s database on its port, signing with `signer` (default: the
   * CA itself, embedded in each answer).
   */
  async startOcsp(ca: PkiCa = this.intermediate, signer?: PkiCert): Promise<OcspResponder> {
    const { cert, key } = signer ?? ca;
    const child = new Deno.Command("openssl", {
      args: [
        "ocsp",
        ...["-index", join(ca.dir, "index.txt"), "-port", `${ca.ocspPort}`],
        ...["-rsigner", cert, "-rkey", key, "-CA", ca.cert],
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!/waiting for OCSP client connections/i.test(seen)) {
      const { value, done } = await stderr.read();
      if (done) {
        await child.status;
        throw new Error(`openssl ocsp did not start: ${seen}`);
      }
      seen += value;
    }
    const drained = (async () => {
      while (!(await stderr.read()).done) { /* keep the pipe flowing */ }
    })();
    return {
      url: `http://127.0.0.1:${ca.ocspPort}`,
      async [Symbol.asyncDispose]() {
        child.kill("SIGTERM");
        await child.status;
        await drained;
      },
    };
  }

  /** Deletes the folder. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** Runs openssl; throws with its stderr when it fails. */
export async function openssl(args: string[]): Promise<string> {
  const output = await new Deno.Command("openssl", { args, stdin: "null" }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`openssl ${args[0]} failed: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

async function selfSignedCa(
  dir: string,
  name: string,
  commonName: string,
  keyType: PkiKeyType,
): Promise<PkiCa> {
  const ca = await caFiles(dir, name, await freePort());
  await generateKey(ca.key, keyType);
  await openssl([
    ...["req", "-x509", "-new", "-key", ca.key, "-subj", `/CN=${commonName}`, "-days", "3650"],
    ...["-config", ca.config, "-extensions", "ext", "-out", ca.cert],
  ]);
  return ca;
}

/** Folder, database and configuration of a CA whose key and certificate come later. */
async function caFiles(dir: string, name: string, ocspPort: number): Promise<PkiCa> {
  const caDir = join(dir, name);
  await Deno.mkdir(join(caDir, "newcerts"), { recursive: true });
  await Deno.writeTextFile(join(caDir, "index.txt"), "");
  await Deno.writeTextFile(join(caDir, "serial"), "1000\n");
  await Deno.writeTextFile(join(caDir, "crlnumber"), "01\n");
  const ca: PkiCa = {
    name,
    dir: caDir,
    cert: join(caDir, "ca.pem"),
    key: join(caDir, "ca.key"),
    config: join(caDir, "openssl.cnf"),
    ocspPort,
  };
  await Deno.writeTextFile(
    ca.config,
    [
      "[ca]",
      "default_ca = this",
      "[this]",
      `database = ${join(caDir, "index.txt")}`,
      `new_certs_dir = ${join(caDir, "newcerts")}`,
      `serial = ${join(caDir, "serial")}`,
      `crlnumber = ${join(caDir, "crlnumber")}`,
      `certificate = ${ca.cert}`,
      `private_key = ${ca.key}`,
      "default_md = sha256",
      "default_days = 365",
      "policy = anything",
      "unique_subject = no",
      "copy_extensions = none",
      "[anything]",
      "commonName = supplied",
      "[req]",
      "distinguished_name = dn",
      "[dn]",
      "[ext]",
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid:always",
      "basicConstraints = critical, CA:TRUE",
      "keyUsage = critical, keyCertSign, cRLSign",
      "",
    ].join("\n"),
  );
  return ca;
}

async function issueInto(
  issuer: PkiCa,
  target: PkiCert,
  commonName: string,
  keyType: PkiKeyType,
  options: IssueOptions,
): Promise<void> {
  await generateKey(target.key, keyType);
  const csr = `${target.cert}.csr`;
  const ext = `${target.cert}.ext`;
  await openssl([
    ...["req", "-new", "-key", target.key, "-subj", `/CN=${commonName}`, "-out", csr],
    ...["-config", issuer.config],
  ]);
  await Deno.writeTextFile(ext, extensions(options, issuer.ocspPort));
  const args = ["ca", "-config", issuer.config, "-batch", "-notext", "-in", csr, "-out"];
  args.push(target.cert, "-extfile", ext, "-extensions", "ext");
  if (options.startDate) args.push("-startdate", options.startDate);
  if (options.endDate) args.push("-enddate", options.endDate);
  await openssl(args);
}

function extensions(options: IssueOptions, ocspPort: number): string {
  const eku = options.eku ?? (options.ca ? [] : ["codeSigning"]);
  return [
    "[ext]",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid:always",
    options.ca ? "basicConstraints = critical, CA:TRUE" : "basicConstraints = critical, CA:FALSE",
    options.ca
      ? "keyUsage = critical, keyCertSign, cRLSign"
      : "keyUsage = critical, digitalSignature",
    ...(eku.length > 0 ? [`extendedKeyUsage = ${eku.join(", ")}`] : []),
    ...(options.noAia ? [] : [`authorityInfoAccess = OCSP;URI:http://127.0.0.1:${ocspPort}`]),
    ...(options.ocspNoCheck ? ["noCheck = ignored"] : []),
    ...(options.unknownCritical ? ["1.3.6.1.4.1.55555.1 = critical, ASN1:NULL"] : []),
    "",
  ].join("\n");
}

async function generateKey(path: string, keyType: PkiKeyType): Promise<void> {
  const algorithm: Record<PkiKeyType, string[]> = {
    rsa: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    p256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    p384: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    ed25519: ["-algorithm", "ED25519"],
  };
  await openssl(["genpkey", ...algorithm[keyType], "-out", path]);
}

/** A port nothing listens on now (the OS's choice for an ephemeral listener). */
async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  await Promise.resolve();
  return port;
}
