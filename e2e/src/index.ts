export * from "./harness.ts";
export * from "./fixtures.ts";
export * from "./free-port.ts";
export * from "./raw-http.ts";
export * from "./processes.ts";
export * from "./load.ts";
