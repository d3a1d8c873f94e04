/**
 * `core/http`: the one HTTP client (time limit, size cap, User-Agent, insecure TLS, typed
 * failures) that every network request of siftrust goes through.
 *
 * @module
 */

export {
  basicAuthorization,
  DEFAULT_MAX_BYTES,
  DEFAULT_TIMEOUT_MS,
  httpRequest,
  type HttpRequestOptions,
  type HttpResponse,
  responseJson,
  responseText,
  USER_AGENT,
} from "./client.ts";
export { HttpError, type HttpErrorKind } from "./errors.ts";
export {
  chosenClient,
  type ProxyChoice,
  RUNTIME_NETWORK_VARIABLES,
  useProxySettings,
  withChosenEnvironment,
} from "./network.ts";
export { reasonPhrase } from "./status.ts";
