// The users service's token signing keys. Newest signs; all are published in the JWKS so that
// tokens signed before a rotation stay verifiable until they expire.
// Source: USERS_SIGNING_KEYS (private JWKs, e.g. from a secret store), else a key file in the
// data directory (created with a fresh key on first start).
import { join } from "node:path";

export { KEEP_PREVIOUS_KEYS, loadSigningKeys, rotateSigningKeys, saveSigningKeys } from "@pooya/identity";

export const signingKeysFile = (dataDir: string) => join(dataDir, "keys", "users-signing-keys.json");
