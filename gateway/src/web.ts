// The web client at / and the offline explorer at /graphiql, served from the Vite build
// (web/dist): hashed assets under /assets/ cached for a year (their names change with their
// content), the pages themselves revalidated on every load; assets precompressed at build time
// (brotli, gzip), so nothing is compressed per request.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { errorBody, type Logger } from "@pooya/runtime";

/** web/dist beside the gateway: ../../web/dist from gateway/src and from the bundle alike. */
export const WEB_ROOT = fileURLToPath(new URL("../../web/dist/", import.meta.url));

export async function serveWebClient(
  app: FastifyInstance,
  { root, explorer, log }: { root: string; explorer: boolean; log: Logger },
) {
  if (!existsSync(join(root, "index.html"))) {
    log.warn({ root }, "web client not built: / answers 404 (npm run build, or npm start, builds it)");
    return false;
  }
  await app.register(fastifyStatic, {
    root: join(root, "assets"),
    prefix: "/assets/",
    preCompressed: true,
    immutable: true,
    maxAge: "365d",
    index: false,
    list: false,
  });
  const page = (file: string) => async (_request: unknown, reply: import("fastify").FastifyReply) =>
    reply.header("cache-control", "no-cache").sendFile(file, root, { cacheControl: false });
  app.get("/", page("index.html"));
  if (explorer) app.get("/graphiql", page("graphiql.html"));
  else
    app.get("/graphiql", async (_request, reply) =>
      reply
        .code(404)
        .send(
          errorBody(
            "The explorer is off here (EXPLORER=off, NODE_ENV=production or TRUSTED_DOCUMENTS=enforce).",
            "NOT_FOUND",
          ),
        ),
    );
  return true;
}
