export * from "./gateway.ts";
export * from "./composition.ts";
export * from "./subgraphs.ts";
