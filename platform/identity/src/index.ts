// @pooya/identity's public surface: what other packages import (tests inside it import its files).
export {
  ACCESS_TOKEN_DEFAULTS,
  ASSERTION_LIFETIME_SECONDS,
  createIdentityAssertionSigner,
  createIdentityAssertionVerifier,
  exportPrivateJwk,
  generateSigningKey,
  IDENTITY_ASSERTION_HEADER,
  publicKeySet,
  requireViewer,
  ROLES,
  signingKeyFromJwk,
  type Caller,
  /** Mapped to other subgraphs' entities in the subgraphs' codegen.json (generated resolver types). */
  type EntityReference,
  type Role,
  type SigningKey,
  type Viewer,
} from "./identity.ts";
export {
  callerUrls,
  callerVariables,
  createServiceClient,
  createServiceIdentity,
  createServiceTokenVerifier,
  guardInternalRoutes,
  loadServiceIdentity,
  SERVICE_KEYS_PATH,
  SERVICE_TOKEN_HEADER,
  serviceIdentityVariables,
  serviceSigningKeysFile,
  serviceSigningKeysVariable,
  withinCallerDeadline,
  type ServiceIdentity,
} from "./service-auth.ts";
export {
  createKeyStore,
  createVerifiedTokenCache,
  KeysUnavailableError,
  TOKEN_EXPIRED,
  type KeyStore,
} from "./key-store.ts";
export { KEEP_PREVIOUS_KEYS, loadSigningKeys, rotateSigningKeys, saveSigningKeys } from "./key-files.ts";
