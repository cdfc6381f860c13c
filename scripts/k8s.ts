// Kubernetes manifests (docs/deployment.md):
//   npm run k8s:generate              writes deploy/k8s/base from the registry, and the overlays' images: lists
//   npm run k8s:render -- <overlay>   prints an overlay (dev, production) as one YAML stream
//   npm run k8s:secrets -- <namespace> [admin email]
//                                     prints the Secrets the manifests use, with fresh random values,
//                                     for `| kubectl apply -f -` (never written to a file here)
import { randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { exportPrivateJwk, generateSigningKey } from "@pooya/identity";
import {
  SUBGRAPH_NAMES,
  overlays,
  renderOverlay,
  serviceTokenSigners,
  writeBase,
  writeOverlayImages,
} from "@pooya/system";

const [command, overlay] = process.argv.slice(2);
if (command === "generate") {
  const files = await writeBase();
  console.error(`wrote deploy/k8s/base: ${files.join(", ")}`);
  const changed = await writeOverlayImages();
  if (changed.length) console.error(`rewrote the images: list of the overlays ${changed.join(", ")}`);
} else if (command === "render" && overlay) {
  process.stdout.write(renderOverlay(overlay));
} else if (command === "secrets" && overlay) {
  const namespace = overlay;
  const adminEmail = process.argv[4];
  const random = () => randomBytes(24).toString("base64");
  const secret = (name: string, data: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { name, namespace },
    stringData: data,
  });
  const objects = [
    secret("pooya-secrets", {
      "gateway-signing-key": JSON.stringify(await exportPrivateJwk(await generateSigningKey())),
      "users-signing-keys": JSON.stringify([await exportPrivateJwk(await generateSigningKey())]),
      // Each calling service's service-token keys (a JSON array, newest first, like users').
      ...Object.fromEntries(
        await Promise.all(
          serviceTokenSigners().map(async (name) => [
            `${name}-service-signing-keys`,
            JSON.stringify([await exportPrivateJwk(await generateSigningKey())]),
          ]),
        ),
      ),
      ...(adminEmail ? { "admin-email": adminEmail, "admin-password": random() } : {}),
    }),
    ...SUBGRAPH_NAMES.map((name) => secret(`${name}-postgres`, { password: random() })),
  ];
  process.stdout.write(objects.map((o) => stringify(o)).join("---\n"));
  if (adminEmail)
    console.error(`the first STAFF account: ${adminEmail} / (admin-password in the pooya-secrets Secret)`);
} else {
  console.error(`usage: npm run k8s:generate | npm run k8s:render -- <${(await overlays()).join("|")}>`);
  process.exit(64);
}
