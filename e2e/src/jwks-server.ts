// A key publisher for tests of token verification: serves a JSON Web Key Set on loopback, and
// the test replaces the published keys (a rotation, a withdrawn key) with `publish`.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { publicKeySet, type SigningKey } from "@pooya/identity";

export async function startJwksServer(keys: SigningKey[]) {
  let published = keys;
  const server = createServer((_request, response) =>
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(publicKeySet(published))),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    /** The keys published now (the first one signs). */
    get keys() {
      return published;
    },
    publish(next: SigningKey[]) {
      published = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
