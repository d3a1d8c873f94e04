/**
 * `core/registry`: logins to OCI registries (`docker://HOST`, `oras://HOST`), checked against
 * the registry and stored as Apptainer stores them (`docker-config.json` and `remote.yaml`).
 *
 * @module
 */

export { chooseAuthFile, parseDockerConfig } from "./docker_config.ts";
export { RegistryError, type RegistryErrorKind } from "./errors.ts";
export { bearerChallenge, plainHttpAllowed, registryLogin, registryLogout } from "./login.ts";
export { type RegistryTarget, registryTarget } from "./target.ts";
