// The Kubernetes manifests: the base is what the registry says (npm run k8s:generate), every
// overlay renders with kustomize and every object validates against the Kubernetes API schemas
// (kubernetes-models), and the promises hold: probes everywhere, no secret outside a Secret,
// network policies for every service and database, autoscalers and budgets that target real
// Deployments, a grace period longer than the shutdown, two replicas or more in production.
import { describe, expect, test } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ConfigMap, Namespace, Service } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Ingress, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import {
  K8S_DIR,
  METRICS_PORT,
  PRE_STOP_SECONDS,
  SHUTDOWN_TIMEOUT_SECONDS,
  SUBGRAPHS,
  k8sServices,
  overlays,
  renderBase,
  renderOverlay,
  withOverlayImages,
} from "../src/index.ts";

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "networking.k8s.io/v1/Ingress": Ingress,
};
const SECRET_LIKE = /PASSWORD|SECRET|SIGNING_KEYS?$|SMTP_URL/;

test("deploy/k8s/base is what the registry says (npm run k8s:generate)", async () => {
  for (const [file, content] of Object.entries(renderBase())) {
    expect(await readFile(join(K8S_DIR, "base", file), "utf8"), file).toBe(content);
  }
});

test("the overlays are dev and production; each names an image for every service of the registry (npm run k8s:generate)", async () => {
  expect(await overlays()).toEqual(["dev", "production"]);
  for (const overlay of await overlays()) {
    const kustomization = await readFile(join(K8S_DIR, "overlays", overlay, "kustomization.yaml"), "utf8");
    expect(kustomization, overlay).toBe(withOverlayImages(kustomization));
    for (const service of k8sServices())
      expect(kustomization, `${overlay} ${service.name}`).toContain(`name: pooya/${service.name},`);
  }
});

describe.each(["dev", "production"])("overlay %s", (overlay) => {
  const objects = parseAllDocuments(renderOverlay(overlay)).map((d) => d.toJS() as any);
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const deployments = ofKind("Deployment");
  const workloads = [...deployments, ...ofKind("StatefulSet")];

  test("renders, and every object validates against the Kubernetes API schema", () => {
    expect(objects.length).toBeGreaterThan(40);
    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${object.apiVersion} ${object.kind} has no model here`).toBeDefined();
      expect(() => new Model!(object).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
  });

  test("a Deployment, Service, autoscaler and disruption budget per service, and a database per subgraph", () => {
    for (const service of k8sServices()) {
      for (const kind of ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"]) {
        expect(
          ofKind(kind).map((o) => o.metadata.name),
          `${kind} ${service.name}`,
        ).toContain(service.name);
      }
    }
    for (const subgraph of SUBGRAPHS)
      expect(ofKind("StatefulSet").map((o) => o.metadata.name)).toContain(`${subgraph.name}-postgres`);
  });

  test("every container has startup, readiness and liveness probes; services probe /readyz and /healthz", () => {
    for (const workload of workloads) {
      for (const container of workload.spec.template.spec.containers) {
        expect(container.startupProbe, `${workload.metadata.name}`).toBeDefined();
        expect(container.readinessProbe, `${workload.metadata.name}`).toBeDefined();
        expect(container.livenessProbe, `${workload.metadata.name}`).toBeDefined();
        expect(
          container.resources?.requests && container.resources?.limits,
          `${workload.metadata.name} resources`,
        ).toBeTruthy();
      }
    }
    for (const deployment of deployments) {
      const [container] = deployment.spec.template.spec.containers;
      expect(container.readinessProbe.httpGet.path).toBe("/readyz");
      expect(container.livenessProbe.httpGet.path).toBe("/healthz");
      expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
        SHUTDOWN_TIMEOUT_SECONDS + PRE_STOP_SECONDS,
      );
      expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    }
  });

  test("no secret outside a Secret: ConfigMaps hold none, secret-like variables come from secretKeyRef, no Secret is committed", () => {
    expect(ofKind("Secret")).toEqual([]);
    for (const configMap of ofKind("ConfigMap")) {
      for (const [key, value] of Object.entries(configMap.data ?? {})) {
        expect(key, `${configMap.metadata.name}.${key}`).not.toMatch(SECRET_LIKE);
        expect(String(value)).not.toMatch(/:\/\/[^/\s:]+:[^@\s]+@/); // no credentials in a URL
      }
    }
    for (const workload of workloads) {
      for (const container of workload.spec.template.spec.containers) {
        for (const variable of container.env ?? []) {
          if (SECRET_LIKE.test(variable.name))
            expect(variable.valueFrom?.secretKeyRef, `${workload.metadata.name} ${variable.name}`).toBeDefined();
        }
      }
    }
  });

  test("network policies, compared whole (namespace and pod selectors, ports): ingress denied by default; the gateway's port open, each subgraph's port to the gateway, its callers and the services it calls (they read its keys) only, every metrics port to the monitoring namespace only, each database to its own service only", () => {
    const policies = Object.fromEntries(ofKind("NetworkPolicy").map((p) => [p.metadata.name, p]));
    const pods = (...names: string[]) =>
      names.map((name) => ({ podSelector: { matchLabels: { "app.kubernetes.io/name": name } } }));
    const scrapes = {
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
      ports: [{ port: "metrics" }],
    };
    // Each rule with its peers in a stable order, so that only what they allow is compared.
    const sorted = (rules: any[]) =>
      rules.map((rule) => ({
        ...rule,
        ...(rule.from
          ? { from: [...rule.from].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) }
          : {}),
      }));
    const expected: Record<string, unknown> = {
      "default-deny-ingress": { podSelector: {}, policyTypes: ["Ingress"] },
      gateway: {
        podSelector: { matchLabels: { "app.kubernetes.io/name": "gateway" } },
        policyTypes: ["Ingress"],
        ingress: [{ ports: [{ port: "http" }] }, scrapes],
      },
      nats: {
        podSelector: { matchLabels: { "app.kubernetes.io/name": "nats" } },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { "app.kubernetes.io/component": "subgraph" } } }],
            ports: [{ port: "client" }],
          },
        ],
      },
    };
    for (const service of k8sServices().filter((s) => s.kind === "subgraph")) {
      const callers = k8sServices()
        .filter((s) => s.kind === "subgraph" && s.calls.includes(service.name))
        .map((s) => s.name);
      const peers = [...new Set(["gateway", ...callers, ...service.calls])];
      expected[service.name] = {
        podSelector: { matchLabels: { "app.kubernetes.io/name": service.name } },
        policyTypes: ["Ingress"],
        ingress: sorted([{ from: pods(...peers), ports: [{ port: "http" }] }, scrapes]),
      };
      expected[`${service.name}-postgres`] = {
        podSelector: { matchLabels: { "app.kubernetes.io/name": `${service.name}-postgres` } },
        policyTypes: ["Ingress"],
        ingress: [{ from: pods(service.name), ports: [{ port: "postgres" }] }],
      };
    }
    const actual = Object.fromEntries(
      Object.entries(policies).map(([name, policy]: [string, any]) => [
        name,
        { ...policy.spec, ...(policy.spec.ingress ? { ingress: sorted(policy.spec.ingress) } : {}) },
      ]),
    );
    expect(actual).toEqual(expected);
  });

  test("every service serves its metrics on a named port of its own (METRICS_PORT), which Prometheus is told to scrape", () => {
    for (const deployment of deployments) {
      const [container] = deployment.spec.template.spec.containers;
      const name = deployment.metadata.name;
      const ports = Object.fromEntries(container.ports.map((p: any) => [p.name, p.containerPort]));
      expect(Object.keys(ports).sort(), name).toEqual(["http", "metrics"]);
      expect(ports.metrics, name).toBe(METRICS_PORT);
      expect(ports.metrics, name).not.toBe(ports.http);
      const env = Object.fromEntries(container.env.filter((v: any) => "value" in v).map((v: any) => [v.name, v.value]));
      expect(env.PORT, name).toBe(String(ports.http));
      expect(env.METRICS_PORT, name).toBe(String(ports.metrics));
      expect(deployment.spec.template.metadata.annotations, name).toEqual({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(ports.metrics),
        "prometheus.io/path": "/metrics",
      });
      // Probes stay on the service's port (the metrics listener serves nothing else).
      for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe])
        expect(probe.httpGet.port, name).toBe("http");
    }
    // The Services carry the API port only: nothing but Prometheus (by pod) reaches the metrics.
    for (const service of ofKind("Service"))
      expect(
        service.spec.ports.map((p: any) => p.name),
        service.metadata.name,
      ).not.toContain("metrics");
  });

  test("autoscalers and disruption budgets target Deployments that exist; the Ingress routes the API, the web client and the explorer (not health or metrics) to the gateway", () => {
    const names = new Set(deployments.map((d) => d.metadata.name));
    for (const hpa of ofKind("HorizontalPodAutoscaler"))
      expect(names.has(hpa.spec.scaleTargetRef.name), hpa.metadata.name).toBe(true);
    for (const pdb of ofKind("PodDisruptionBudget")) {
      expect(
        deployments.some(
          (d) =>
            d.spec.template.metadata.labels["app.kubernetes.io/name"] ===
            pdb.spec.selector.matchLabels["app.kubernetes.io/name"],
        ),
        pdb.metadata.name,
      ).toBe(true);
    }
    const [ingress] = ofKind("Ingress");
    const paths = ingress.spec.rules.flatMap((r: any) =>
      r.http.paths.map((p: any) => [p.path, p.backend.service.name]),
    );
    expect(paths).toEqual([
      ["/graphql", "gateway"],
      ["/", "gateway"],
      ["/assets", "gateway"],
      ["/graphiql", "gateway"],
    ]);
  });

  test.runIf(overlay === "production")(
    "production: two replicas or more of the gateway and every subgraph, budgets that keep one up, pinned images, TLS",
    () => {
      for (const deployment of deployments) {
        expect(deployment.spec.replicas, deployment.metadata.name).toBeGreaterThanOrEqual(2);
        expect(deployment.spec.template.spec.containers[0].image, deployment.metadata.name).toMatch(/:\d+\.\d+\.\d+$/);
      }
      for (const hpa of ofKind("HorizontalPodAutoscaler")) expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      for (const pdb of ofKind("PodDisruptionBudget")) expect(pdb.spec.minAvailable).toBe(1);
      expect(ofKind("Ingress")[0].spec.tls).toHaveLength(1);
      expect(ofKind("Namespace")[0].metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    },
  );
});
