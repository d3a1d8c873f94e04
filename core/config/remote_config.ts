/**
 * Apptainer's `remote.yaml`: remote endpoints, their ordered keyservers, and stored
 * credentials. The file is edited as a YAML document, so fields siftrust does not know, and
 * comments, survive a rewrite; fields it knows are written in Apptainer's order and style
 * (4-space indentation, omit-if-empty rules).
 *
 * @module
 */

import {
  Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";

/** A keyserver of a remote (`Keyservers` entry). */
export interface KeyserverEntry {
  /** Full URL: http, https, hkp or hkps. */
  uri: string;
  /** A discovered default keyserver that was "removed" (kept, hidden). */
  skip: boolean;
  /** Added with `keyserver add`, rather than discovered from the endpoint. */
  external: boolean;
  /** TLS certificates are not checked. */
  insecure: boolean;
}

/** A remote endpoint (`Remotes.<name>`). */
export interface Endpoint {
  /** The remote's name (its key under `Remotes`). */
  name: string;
  /** Host and path, no scheme. */
  uri: string;
  /** Bearer token, stored in clear text as Apptainer does. */
  token: string;
  /** Comes from the system file. */
  system: boolean;
  /** The administrator made it the only usable remote. */
  exclusive: boolean;
  /** Service discovery over http. */
  insecure: boolean;
  /** The ordered keyservers; empty means the discovered one. */
  keyservers: KeyserverEntry[];
}

/** A stored login (`Credentials` entry). */
export interface Credential {
  /** e.g. `https://pgp.example.com`, `docker://registry.example.com`. */
  uri: string;
  /** The whole Authorization header value (keyservers); empty for registries. */
  auth: string;
  /** TLS certificates are not checked (registries: http is used). */
  insecure: boolean;
}

/** A configuration file that cannot be used; the message names the file, line and column. */
export class ConfigError extends Error {}

type Schema = "string" | "bool";
const ENDPOINT_FIELDS: [keyof Omit<Endpoint, "name" | "keyservers">, string, Schema][] = [
  ["uri", "URI", "string"],
  ["token", "Token", "string"],
  ["system", "System", "bool"],
  ["exclusive", "Exclusive", "bool"],
  ["insecure", "Insecure", "bool"],
];
const KEYSERVER_FIELDS: [keyof KeyserverEntry, string, Schema][] = [
  ["uri", "URI", "string"],
  ["skip", "Skip", "bool"],
  ["external", "External", "bool"],
  ["insecure", "Insecure", "bool"],
];
const CREDENTIAL_FIELDS: [keyof Credential, string, Schema][] = [
  ["uri", "URI", "string"],
  ["auth", "Auth", "string"],
  ["insecure", "Insecure", "bool"],
];

/** A `remote.yaml` document. */
export class RemoteConfig {
  /** The file it was read from (or will be written to). */
  readonly path: string;
  #doc: Document;

  private constructor(path: string, doc: Document) {
    this.path = path;
    this.#doc = doc;
  }

  /** An empty configuration. */
  static empty(path: string): RemoteConfig {
    return new RemoteConfig(path, new Document({ Active: "", Remotes: {} }));
  }

  /**
   * Parses and checks a file's text. An empty file is an empty configuration.
   * @throws ConfigError naming the file, line and column of the first problem
   */
  static parse(text: string, path: string): RemoteConfig {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false });
    const where = (offset: number | undefined) => {
      const { line, col } = lineCounter.linePos(offset ?? 0);
      return `${path}:${line}:${col}`;
    };
    const error = doc.errors[0];
    if (error !== undefined) {
      throw new ConfigError(`${where(error.pos[0])}: ${error.message.split("\n")[0]}`);
    }
    if (doc.contents === null) return RemoteConfig.empty(path);
    check(doc.contents, where);
    if (!doc.has("Active")) doc.set("Active", "");
    if (!doc.has("Remotes")) doc.set("Remotes", doc.createNode({}));
    return new RemoteConfig(path, doc);
  }

  /** Name of the default remote ("" for none). */
  get active(): string {
    return text(this.#doc.get("Active"));
  }

  set active(name: string) {
    this.#doc.set("Active", this.#doc.createNode(name));
  }

  /** The remotes, in file order. */
  get remotes(): Endpoint[] {
    const map = this.#doc.get("Remotes") as YAMLMap | undefined;
    return (map?.items ?? []).map((pair) =>
      readEndpoint(text(pair.key), pair.value as YAMLMap | null)
    );
  }

  /** The remote with this name. */
  remote(name: string): Endpoint | undefined {
    return this.remotes.find((r) => r.name === name);
  }

  /** Adds or updates a remote; fields it does not know are kept. */
  setRemote(endpoint: Endpoint): void {
    const path = ["Remotes", endpoint.name];
    if (!isMap(this.#doc.getIn(path))) {
      this.#doc.setIn(path, this.#doc.createNode({}));
      // Apptainer writes remotes sorted by name (byte order).
      (this.#doc.get("Remotes") as YAMLMap).items.sort((a, b) =>
        compareBytes(text(a.key), text(b.key))
      );
    }
    const node = this.#doc.getIn(path) as YAMLMap;
    writeFields(
      this.#doc,
      node,
      ENDPOINT_FIELDS,
      endpoint,
      (key) => key === "System" || key === "Exclusive",
    );
    const existing = node.get("Keyservers");
    if (endpoint.keyservers.length === 0) node.delete("Keyservers");
    else node.set("Keyservers", this.#entries(existing, endpoint.keyservers, KEYSERVER_FIELDS));
  }

  /** Deletes a remote. */
  deleteRemote(name: string): void {
    this.#doc.deleteIn(["Remotes", name]);
  }

  /** The stored logins. */
  get credentials(): Credential[] {
    const seq = this.#doc.get("Credentials");
    return isSeq(seq)
      ? seq.items.map((item) => readFields(item as YAMLMap, CREDENTIAL_FIELDS))
      : [];
  }

  /** Replaces the stored logins; entries kept from before keep their unknown fields. */
  setCredentials(credentials: Credential[]): void {
    if (credentials.length === 0) this.#doc.delete("Credentials");
    else {this.#doc.set(
        "Credentials",
        this.#entries(this.#doc.get("Credentials"), credentials, CREDENTIAL_FIELDS),
      );}
  }

  /** The document as Apptainer writes it: 4-space indentation, sequences indented. */
  toString(): string {
    return this.#doc.toString({ indent: 4, indentSeq: true, lineWidth: 0 });
  }

  /** A copy, e.g. to merge into without touching this one. */
  clone(path = this.path): RemoteConfig {
    return new RemoteConfig(path, this.#doc.clone());
  }

  /** A sequence of entries; an existing entry with the same URI is updated in place. */
  #entries<T extends { uri: string }>(
    existing: unknown,
    entries: T[],
    fields: [keyof T, string, Schema][],
  ): YAMLSeq {
    const old = isSeq(existing) ? existing.items.filter(isMap) as YAMLMap[] : [];
    const seq = this.#doc.createNode([]) as YAMLSeq;
    for (const entry of entries) {
      const node = old.find((item) => text(item.get("URI")) === entry.uri) ??
        this.#doc.createNode({}) as YAMLMap;
      writeFields(this.#doc, node, fields, entry, (key) => key !== "Auth");
      seq.items.push(node);
    }
    return seq;
  }
}

function text(value: unknown): string {
  if (isScalar(value)) return value.value === null ? "" : String(value.value);
  return value === undefined || value === null ? "" : String(value);
}

function bool(value: unknown): boolean {
  return (isScalar(value) ? value.value : value) === true;
}

function readFields<T>(node: YAMLMap | null, fields: [keyof T, string, Schema][]): T {
  const out = {} as Record<keyof T, unknown>;
  for (const [field, key, schema] of fields) {
    const value = node?.get(key, true);
    out[field] = schema === "bool" ? bool(value) : text(value);
  }
  return out as T;
}

function readEndpoint(name: string, node: YAMLMap | null): Endpoint {
  const keyservers = node?.get("Keyservers");
  return {
    name,
    ...readFields<Omit<Endpoint, "name" | "keyservers">>(node, ENDPOINT_FIELDS),
    keyservers: isSeq(keyservers)
      ? keyservers.items.map((item) => readFields(item as YAMLMap, KEYSERVER_FIELDS))
      : [],
  };
}

/** Writes known fields in order; empty strings and false are omitted unless `always`. */
function writeFields<T>(
  doc: Document,
  node: YAMLMap,
  fields: [keyof T, string, Schema][],
  values: T,
  always: (key: string) => boolean,
): void {
  for (const [field, key] of fields) {
    const value = values[field];
    if (!always(key) && (value === "" || value === false)) node.delete(key);
    else if (node.has(key)) node.set(key, value);
    else node.add(doc.createPair(key, value));
  }
  // Known fields in Apptainer's order, before any fields siftrust does not know.
  const rank = (pair: { key: unknown }) => {
    const index = fields.findIndex(([, key]) => key === text(pair.key));
    return index === -1 ? fields.length : index;
  };
  node.items.sort((a, b) => rank(a) - rank(b));
}

/** Checks the types of the fields siftrust knows; others are left alone. */
function check(root: Node, where: (offset?: number) => string): void {
  const fail = (node: Node | null | undefined, message: string): never => {
    throw new ConfigError(`${where(node?.range?.[0])}: ${message}`);
  };
  if (!isMap(root)) fail(root, "remote.yaml must be a mapping (Active, Remotes, Credentials)");
  const map = root as YAMLMap;
  const scalar = (node: unknown, name: string, schema: Schema) => {
    if (node === undefined || node === null) return;
    const value = isScalar(node) ? node.value : undefined;
    if (value === null) return;
    if (
      schema === "bool"
        ? typeof value !== "boolean"
        : typeof value !== "string" && typeof value !== "number"
    ) {
      fail(node as Node, `${name} must be ${schema === "bool" ? "true or false" : "a string"}`);
    }
  };
  const entries = (node: unknown, name: string, fields: [unknown, string, Schema][]) => {
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) return;
    if (!isSeq(node)) fail(node as Node, `${name} must be a list`);
    for (const [i, item] of (node as YAMLSeq).items.entries()) {
      if (!isMap(item)) fail(item as Node, `${name}[${i}] must be a mapping`);
      for (const [, key, schema] of fields) {
        scalar((item as YAMLMap).get(key, true), `${name}[${i}].${key}`, schema);
      }
    }
  };
  scalar(map.get("Active", true), "Active", "string");
  const remotes = map.get("Remotes", true);
  if (remotes !== undefined && remotes !== null && !(isScalar(remotes) && remotes.value === null)) {
    if (!isMap(remotes)) fail(remotes as Node, "Remotes must be a mapping of names to remotes");
    for (const pair of (remotes as unknown as YAMLMap).items) {
      const name = text(pair.key);
      const value = pair.value as Node | null;
      if (value === null || (isScalar(value) && value.value === null)) continue;
      if (!isMap(value)) fail(value, `Remotes.${name} must be a mapping`);
      for (const [, key, schema] of ENDPOINT_FIELDS) {
        scalar((value as YAMLMap).get(key, true), `Remotes.${name}.${key}`, schema);
      }
      entries(
        (value as YAMLMap).get("Keyservers", true),
        `Remotes.${name}.Keyservers`,
        KEYSERVER_FIELDS,
      );
    }
  }
  entries(map.get("Credentials", true), "Credentials", CREDENTIAL_FIELDS);
}

/**
 * Whether a configuration holds secrets: a remote's access token, or a stored login's
 * `Auth`. (A registry login's entry holds none: its secret is in `docker-config.json`.)
 */
export function holdsSecrets(config: RemoteConfig): boolean {
  return config.remotes.some((r) => r.token !== "") ||
    config.credentials.some((c) => c.auth !== "");
}

/** Byte-wise string order (uppercase before lowercase), as Go's sort does. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
