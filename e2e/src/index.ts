export * from "./harness.ts";
export * from "./fixtures.ts";
export * from "./free-port.ts";
export * from "./raw-http.ts";
export * from "./processes.ts";
export * from "./load.ts";
export * from "./metrics.ts";
export * from "./smtp.ts";
export * from "./live.ts";
export * from "./nats.ts";
export * from "./browser.ts";
export * from "./jwks-server.ts";
export {
  createTenv,
  type GatewayHandle,
  type InternalResponse,
  type ServiceHandle,
  type ServiceOptions,
  type Tenv,
  type TenvOptions,
} from "./tenv.ts";
export * from "./service-fixtures.ts";
