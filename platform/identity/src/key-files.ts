// Signing keys kept in a file of the data directory (private JWKs, newest first, mode 0600), for
// a deployment without a secret store: created with a fresh key on first start, rotated by
// `npm run keys:rotate`. users' access-token keys and every service's service-token keys use it.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { JWK } from "jose";
import { exportPrivateJwk, generateSigningKey, signingKeyFromJwk, type SigningKey } from "./identity.ts";

/** Keys kept after a rotation besides the new one: tokens signed before it verify until they expire. */
export const KEEP_PREVIOUS_KEYS = 1;

/** The keys of `source`: given JWKs (a secret store), or the key file (created with one fresh key if missing). */
export async function loadSigningKeys(source: { jwks: JWK[] } | { file: string }): Promise<SigningKey[]> {
  if ("jwks" in source) return Promise.all(source.jwks.map(signingKeyFromJwk));
  try {
    const stored = JSON.parse(await readFile(source.file, "utf8")) as { keys: JWK[] };
    return await Promise.all(stored.keys.map(signingKeyFromJwk));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT")
      throw new Error(`the key file ${source.file} cannot be read: ${(error as Error).message}`, { cause: error });
    const key = await generateSigningKey();
    await saveSigningKeys(source.file, [key]);
    return [key];
  }
}

export async function saveSigningKeys(file: string, keys: SigningKey[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const stored = { keys: await Promise.all(keys.map(exportPrivateJwk)) };
  await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  await chmod(file, 0o600);
}

/** Puts a new key in front and keeps KEEP_PREVIOUS_KEYS older ones for tokens still in flight. */
export async function rotateSigningKeys(file: string): Promise<SigningKey[]> {
  const current = await loadSigningKeys({ file });
  const next = [await generateSigningKey(), ...current.slice(0, KEEP_PREVIOUS_KEYS)];
  await saveSigningKeys(file, next);
  return next;
}
