// The users service's own variables: its token keys, the first admin and sign-in limits (the kit
// adds the common ones, its callers' URLs and the events').
import { z } from "zod";
import { env, projectDataDir } from "@pooya/runtime";
import { DEFAULT_TOKEN_AUDIENCE, DEFAULT_TOKEN_ISSUER } from "./auth/tokens.ts";

const privateJwks = z
  .array(
    z
      .object({
        kid: z.string().min(1),
        d: z.string().min(1),
        kty: z.literal("OKP"),
        crv: z.literal("Ed25519"),
        x: z.string(),
      })
      .loose(),
  )
  .min(1);

export const usersEnv = {
  USERS_SIGNING_KEYS: env
    .json(privateJwks, "a JSON array of private Ed25519 JWKs with a kid, newest first")
    .optional()
    .describe(
      "token-signing keys from a secret store; unset: a key file in `$POOYA_DATA_DIR/keys/` (generated at first start)",
    ),
  POOYA_DATA_DIR: env
    .text()
    .default(projectDataDir())
    .meta({ defaultText: "`.data` in the project root (the working directory outside npm)" })
    .describe("where the service keeps the key files it generates"),
  TOKEN_ISSUER: env
    .text()
    .default(DEFAULT_TOKEN_ISSUER)
    .describe("`iss` of access tokens (users signs it, the gateway requires it)"),
  TOKEN_AUDIENCE: env
    .text()
    .default(DEFAULT_TOKEN_AUDIENCE)
    .describe("`aud` of access tokens (users signs it, the gateway requires it)"),
  POOYA_ADMIN_EMAIL: env
    .text({ max: 254 })
    .optional()
    .describe("with POOYA_ADMIN_PASSWORD: the first STAFF account, created at start if missing"),
  POOYA_ADMIN_PASSWORD: env
    .secret({ min: 8 })
    .optional()
    .describe("the first STAFF account's password (8 to 128 characters)"),
  LOGIN_LIMIT_PER_ACCOUNT_AND_CLIENT: env
    .integer({ min: 1, max: 100_000 })
    .default(5)
    .describe("sign-in attempts on one account from one client per 15 minutes (a success clears them)"),
  LOGIN_LIMIT_PER_ACCOUNT: env
    .integer({ min: 1, max: 1_000_000 })
    .default(50)
    .describe("sign-in attempts on one account from all clients together per hour"),
  REDIS_URL: env
    .text()
    .optional()
    .describe(
      "where rate-limit counts are shared between replicas (`redis://host:6379`); unset: counted in this process",
    ),
};

export function checkUsersEnv(vars: { POOYA_ADMIN_EMAIL?: string; POOYA_ADMIN_PASSWORD?: string }): string[] {
  if (Boolean(vars.POOYA_ADMIN_EMAIL) !== Boolean(vars.POOYA_ADMIN_PASSWORD)) {
    return ["POOYA_ADMIN_EMAIL, POOYA_ADMIN_PASSWORD: set both or neither"];
  }
  return [];
}
