/**
 * `core/config`: Apptainer's `remote.yaml` (remote endpoints, keyservers, stored logins),
 * the system/user merge, exclusivity, service discovery, the keyservers in effect, and the
 * operations of the `remote` and `keyserver` commands: adding, removing and choosing
 * remotes, editing keyserver lists, endpoint tokens and keyserver logins.
 *
 * @module
 */

export {
  type ConfigFiles,
  configFiles,
  type EffectiveConfig,
  readEffective,
  refuseSecretsInSystemFile,
} from "./config_files.ts";
export { discoverServices, DiscoveryError } from "./discovery.ts";
export {
  endpointLogin,
  type EndpointStatus,
  endpointStatus,
  readTokenFile,
} from "./endpoint_login.ts";
export { apptainerEnv, apptainerEnvFlag } from "./env.ts";
export { RemoteError, type RemoteErrorKind, REQUEST_ERROR_KINDS } from "./errors.ts";
export { type Environment, type ProxySettings, TRUST_VARIABLES } from "./environment.ts";
export { readConfig, updateConfig, USER_CONFIG_MODE } from "./files.ts";
export {
  addKeyserver,
  keyserverListing,
  type RemoteKeyservers,
  removeKeyserver,
} from "./keyserver_list.ts";
export {
  isKeyserverUri,
  keyserverLogin,
  keyserverLoginTarget,
  keyserverLogout,
  removeCredentials,
} from "./keyserver_login.ts";
export { KeyserverUriError, sameService } from "./keyserver_uri.ts";
export {
  type Keyserver,
  RemoteSelectionError,
  type RemoteSelectionErrorKind,
} from "./keyservers.ts";
export { type EnvReader, userConfigDir } from "./locations.ts";
export { DEFAULT_ENDPOINT_URI, DEFAULT_KEYSERVER } from "./merge.ts";
export {
  compareBytes,
  ConfigError,
  type Credential,
  type Endpoint,
  type KeyserverEntry,
  RemoteConfig,
} from "./remote_config.ts";
export { addRemote, endpointFor, forgetToken, removeRemote, useRemote } from "./remotes.ts";
export {
  type KeyserverChoice,
  type KeyserverSource,
  type PolicyTrust,
  type Resolution,
  ResolutionError,
  type ResolutionErrorKind,
  type ResolutionMessage,
  resolveRun,
  type RunContext,
  type TrustLocations,
} from "./resolve.ts";
export { accountHome } from "./accounts.ts";
export { SANITIZED_COMMANDS, SYSTEM_CACHE_DIR, SYSTEM_POLICY } from "./resolve.ts";
export type { Enforcement } from "./resolve.ts";
