// The offline explorer at /graphiql: GraphiQL with Monaco and its workers bundled into our own
// assets (nothing from a CDN), the example operations of operations/sandbox/ as tabs, one per
// role (plus the operation of a shared link, ?query=…), and the header editor pre-filled (with the access token of the panel's session in this
// browser, when someone is signed in).
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { getSession } from "../session";

const examples = import.meta.glob<string>("../../../operations/sandbox/*.graphql", {
  query: "?raw",
  import: "default",
  eager: true,
});
const TITLES: Record<string, string> = {
  "1-anyone": "Anyone",
  "2-student": "Student",
  "3-teacher": "Teacher",
  "4-staff": "Staff",
};

const session = getSession();
const headers = JSON.stringify(
  { Authorization: `Bearer ${session?.accessToken ?? "<accessToken from SignIn>"}` },
  null,
  2,
);
// A link can carry an operation to open first: /graphiql?query=…&variables=…
const shared = new URLSearchParams(location.search);
const linked = shared.get("query");
const tabs = [
  {
    query: `# Pooya API explorer. Sign in in the "Anyone" tab, put the accessToken in the\n# Authorization header below, then try the tab of your role.\nquery WhoAmI {\n  me { id name email role }\n}\n`,
    headers,
  },
  ...Object.entries(examples)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, query]) => {
      const name = path
        .split("/")
        .pop()!
        .replace(/\.graphql$/, "");
      return { query: `# ${TITLES[name] ?? name}\n${query}`, headers };
    }),
];

const fetcher = createGraphiQLFetcher({
  url: new URL("/graphql", location.href).href,
  subscriptionUrl: new URL("/graphql", location.href.replace(/^http/, "ws")).href,
});

/**
 * GraphiQL's "copy query" uses navigator.clipboard, which exists only in secure contexts: over
 * plain http (a LAN address, a development hostname) the text is copied the older way instead.
 */
function copyWithoutClipboardApi(text: string) {
  if (window.isSecureContext && navigator.clipboard) return;
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

createRoot(document.getElementById("graphiql")!).render(
  <GraphiQL
    fetcher={fetcher}
    defaultTabs={tabs}
    defaultHeaders={headers}
    // A signed-in session's token replaces whatever headers an earlier visit left.
    {...(session ? { initialHeaders: headers } : {})}
    {...(linked ? { initialQuery: linked, initialVariables: shared.get("variables") ?? "" } : {})}
    isHeadersEditorEnabled
    defaultEditorToolsVisibility="headers"
    shouldPersistHeaders={false}
    onCopyQuery={copyWithoutClipboardApi}
  />,
);
