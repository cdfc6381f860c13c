// Apollo Sandbox on GET /graphql for people online, opened on an example operation, with a way
// to the offline explorer (/graphiql): in the page Apollo shows when its CDN cannot be reached,
// and as a small link over Sandbox when it can.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from "@apollo/server/plugin/landingPage/default";
import type { Logger } from "@pooya/runtime";
import type { GatewaySettings } from "./settings.ts";

/** Whether the explorer (Sandbox, introspection) is on, and whether GraphiQL is there to link to (/graphiql). */
export interface Explorer {
  enabled: boolean;
  graphiqlAvailable: boolean;
}

export function explorerOf(settings: Pick<GatewaySettings, "explorer" | "trustedDocuments" | "webRoot">, log: Logger) {
  // Enforced trusted documents and an explorer that runs any operation do not go together.
  const enabled = settings.explorer && settings.trustedDocuments.mode !== "enforce";
  if (settings.explorer && !enabled) log.info("explorer off: TRUSTED_DOCUMENTS=enforce runs listed operations only");
  const graphiqlAvailable = enabled && !!settings.webRoot && existsSync(join(settings.webRoot, "graphiql.html"));
  return { enabled, graphiqlAvailable } satisfies Explorer;
}

export const SANDBOX_EXAMPLE = `# Welcome to the Pooya API. Sign in (try student1@pooya.local / student-demo-pass on the demo
# data of npm start), put the accessToken into the Authorization header (Headers below:
# Authorization = Bearer <accessToken>), then ask for your own data with Me.
# Offline? The same API in GraphiQL, with every example operation: /graphiql

mutation SignIn {
  login(email: "student1@pooya.local", password: "student-demo-pass") {
    accessToken
    expiresIn
    user { id name role }
  }
}

query Me {
  me { id name email role }
}
`;

export function withExplorerLink(html: string, graphiqlAvailable: boolean): string {
  if (!graphiqlAvailable) return html;
  const nonce = /nonce="?([0-9a-f]+)"?/.exec(html)?.[1];
  const offline = /<p>Apollo Sandbox cannot be loaded; it appears that you might be offline\.<\/p>/;
  let page = html.replace(
    offline,
    (line) =>
      `${line}\n  <p>The built-in explorer needs nothing from the internet: <a href="/graphiql">open GraphiQL at /graphiql</a>.</p>`,
  );
  if (nonce) {
    page = page.replace(
      "</body>",
      `<style nonce="${nonce}">#pooya-graphiql{position:fixed;right:12px;bottom:12px;z-index:10;font:13px system-ui,sans-serif;background:#fff;color:#2457c5;padding:4px 8px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.25)}</style>\n<a id="pooya-graphiql" href="/graphiql">Offline explorer (GraphiQL)</a>\n</body>`,
    );
  }
  return page;
}

export function sandboxLandingPagePlugin<TContext extends BaseContext>({
  graphiqlAvailable,
}: {
  graphiqlAvailable: boolean;
}): ApolloServerPlugin<TContext> {
  const sandbox = ApolloServerPluginLandingPageLocalDefault({
    embed: { runTelemetry: false },
    footer: false,
    document: SANDBOX_EXAMPLE,
    headers: { Authorization: "Bearer <accessToken from SignIn>" },
  }) as ApolloServerPlugin<TContext>;
  return {
    async serverWillStart(service) {
      const listener = await sandbox.serverWillStart!(service);
      const render = listener?.renderLandingPage;
      if (!render) return listener;
      return {
        ...listener,
        async renderLandingPage() {
          const page = await render();
          return {
            html: async () =>
              withExplorerLink(typeof page.html === "string" ? page.html : await page.html(), graphiqlAvailable),
          };
        },
      };
    },
  };
}

/** Sandbox when the explorer is on, else Apollo's production landing page. */
export function landingPagePlugin<TContext extends BaseContext>(explorer: Explorer): ApolloServerPlugin<TContext> {
  return !explorer.enabled
    ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
    : sandboxLandingPagePlugin<TContext>({ graphiqlAvailable: explorer.graphiqlAvailable });
}
