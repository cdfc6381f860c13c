// The web client (index.html) and the offline explorer (graphiql.html), built into web/dist for
// the gateway to serve. `npm run dev -w @pooya/web` serves them with hot reload and sends
// /graphql to a gateway on :4000 (npm start).
import { resolve } from "node:path";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 4096, // the explorer carries Monaco; the panel's own chunk stays small
    rollupOptions: {
      // GraphiQL's packages carry React-compiler directives ("use no memo") that bundling drops, harmlessly.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      input: {
        panel: resolve(import.meta.dirname, "index.html"),
        graphiql: resolve(import.meta.dirname, "graphiql.html"),
      },
    },
  },
  server: { fs: { allow: [".."] }, proxy: { "/graphql": { target: "http://127.0.0.1:4000", ws: true } } },
});
