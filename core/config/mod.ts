/**
 * `core/config`: Apptainer's `remote.yaml` (remote endpoints, keyservers, stored logins),
 * the system/user merge, exclusivity, service discovery, the keyservers in effect, and the
 * operations of the `remote` and `keyserver` commands: adding, removing and choosing
 * remotes, editing keyserver lists, endpoint tokens and keyserver logins.
 *
 * @module
 */

export * from "./accounts.ts";
export * from "./config_files.ts";
export * from "./discovery.ts";
export * from "./endpoint_login.ts";
export * from "./endpoint_uri.ts";
export * from "./env.ts";
export * from "./errors.ts";
export * from "./environment.ts";
export * from "./files.ts";
export * from "./keyserver_list.ts";
export * from "./keyserver_login.ts";
export * from "./keyserver_uri.ts";
export * from "./keyservers.ts";
export * from "./locations.ts";
export * from "./merge.ts";
export * from "./remote_config.ts";
export * from "./remotes.ts";
export * from "./resolve.ts";
