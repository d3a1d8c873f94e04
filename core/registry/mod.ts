/**
 * `core/registry`: logins to OCI registries (`docker://HOST`, `oras://HOST`), checked against
 * the registry and stored as Apptainer stores them (`docker-config.json` and `remote.yaml`).
 *
 * @module
 */

export { RegistryError, type RegistryErrorKind } from "./errors.ts";
export { registryLogin, registryLogout } from "./login.ts";
export { type RegistryTarget, registryTarget } from "./target.ts";
