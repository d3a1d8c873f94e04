/**
 * `core/config`: Apptainer's `remote.yaml` (remote endpoints, keyservers, stored logins),
 * the system/user merge, exclusivity, service discovery, and the keyservers in effect.
 *
 * @module
 */

export * from "./discovery.ts";
export * from "./environment.ts";
export * from "./files.ts";
export * from "./keyserver_uri.ts";
export * from "./keyservers.ts";
export * from "./locations.ts";
export * from "./merge.ts";
export * from "./remote_config.ts";
export * from "./resolve.ts";
