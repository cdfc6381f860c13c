export * from "./identity.ts";
export * from "./service-auth.ts";
export * from "./key-store.ts";
export * from "./key-files.ts";
