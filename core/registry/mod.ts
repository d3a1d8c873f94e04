/**
 * `core/registry`: logins to OCI registries (`docker://HOST`, `oras://HOST`), checked against
 * the registry and stored as Apptainer stores them (`docker-config.json` and `remote.yaml`).
 *
 * @module
 */

export * from "./docker_config.ts";
export * from "./errors.ts";
export * from "./login.ts";
export * from "./target.ts";
