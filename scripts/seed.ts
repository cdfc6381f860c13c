// npm run seed: fills a running system (GATEWAY_URL) with a demo term through the public API,
// signed in as POOYA_ADMIN_EMAIL / POOYA_ADMIN_PASSWORD (default: the embedded demo admin).
import { DEMO_ADMIN, seedDemoTerm } from "@pooya/system";

const gatewayUrl = process.env.GATEWAY_URL ?? "http://localhost:4000/graphql";
const admin =
  process.env.POOYA_ADMIN_EMAIL && process.env.POOYA_ADMIN_PASSWORD
    ? { email: process.env.POOYA_ADMIN_EMAIL, password: process.env.POOYA_ADMIN_PASSWORD }
    : DEMO_ADMIN;
const result = await seedDemoTerm({ gatewayUrl, admin });
console.log(JSON.stringify(result));
