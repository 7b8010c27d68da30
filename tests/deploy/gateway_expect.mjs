// Expectations on the federation gateway objects of a `helm template` rendering of helm/concord.
//   CONCORD_NODE_MODULES=<dir> node gateway_expect.mjs <rendered.yaml> <expectations-json>
// expectations: {"enabled": false}  no object of the gateway at all; or
//   {"enabled": true, "name": "concord-gateway", "partnerKey": "<PEM>", "cidrs": [...],
//    "partnerPort": 7446, "partnerEgressPort": 7446, "serviceType": "LoadBalancer",
//    "sourceRanges": [...], "serviceMonitor": bool,
//    "certificate": "secret" (default) | {"dnsNames": [...], "ipAddresses": [...]} (certManager),
//    "liaison": "concord-server" | "concord-liaison" (the workload hosting the liaison module)}
// checks: Deployment runs concord-gateway as every workload (restricted securityContext, probes,
// --redis-gateway-user + CONCORD_REDIS_GATEWAY_PASSWORD from a Secret, --federation-config from
// the ConfigMap, identity/partner CA Secrets read-only); the ConfigMap's JSON pins the key; the
// internal Service has no partner port and the partner Service only it; the NetworkPolicy opens
// the partner port to the CIDRs only, the internal port to in-cluster peers only, egress to the
// partner (CIDRs), the liaison workload's gRPC port (liaison_address), Redis and DNS only; the
// liaison workload's NetworkPolicy admits the gateway's pods on its gRPC port.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const dir = process.env.CONCORD_NODE_MODULES;
const pj = JSON.parse(readFileSync(path.join(dir, "js-yaml", "package.json"), "utf8"));
let entry = pj.exports?.["."];
if (typeof entry === "object") entry = entry.import ?? entry.default;
const yaml = await import(pathToFileURL(path.join(dir, "js-yaml", entry ?? pj.module ?? pj.main)).href);

const [file, expJson] = process.argv.slice(2);
const exp = JSON.parse(expJson);
const docs = yaml.loadAll(readFileSync(file, "utf8")).filter((d) => d && typeof d === "object");
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.log(`FAIL ${what}`); } };
const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata?.name === name);
const gw = docs.filter((d) => /gateway/.test(d.metadata?.name ?? "") ||
  d.metadata?.labels?.["app.kubernetes.io/component"]?.startsWith("gateway"));

if (!exp.enabled) {
  check(gw.length === 0, `no gateway object when disabled (found ${gw.map((d) => d.kind + "/" + d.metadata.name)})`);
  check(!JSON.stringify(docs).includes("concord-gateway"), "no concord-gateway anywhere when disabled");
} else {
  const n = exp.name;
  const dep = find("Deployment", n);
  check(dep, `Deployment ${n}`);
  const pod = dep?.spec?.template?.spec ?? {};
  const c = pod.containers?.[0] ?? {};
  const args = c.args ?? [];
  check(c.command?.[0] === "concord-gateway", "runs concord-gateway");
  check(args.includes("--redis-gateway-user=concord-gateway"), "--redis-gateway-user");
  check(!args.some((a) => /--redis-(directory|audit|messaging|referrals|guidelines|liaison)-user/.test(a)), "no other Redis user");
  check(args.includes("--federation-config=/etc/concord/federation/federation.json"), "--federation-config");
  check(!args.some((a) => /password/.test(a)), "no password on the command line");
  const env = (c.env ?? []).find((e) => e.name === "CONCORD_REDIS_GATEWAY_PASSWORD");
  check(env?.valueFrom?.secretKeyRef?.name === "concord-redis-gateway", "Redis password from Secret concord-redis-gateway");
  const sc = c.securityContext ?? {};
  check(sc.readOnlyRootFilesystem && sc.runAsNonRoot && sc.allowPrivilegeEscalation === false &&
        sc.capabilities?.drop?.includes("ALL") && pod.securityContext?.runAsNonRoot, "restricted securityContext");
  check(pod.automountServiceAccountToken === false, "no service account token");
  check(c.startupProbe?.grpc && c.readinessProbe?.grpc && c.livenessProbe, "probes");
  const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.name, m]));
  const cm_cert = typeof exp.certificate === "object";
  for (const v of ["tls", "audit-key", "federation-config", "gateway-identity", "partner-ca",
                   ...(cm_cert ? ["gateway-cert"] : [])]) {
    check(mounts[v]?.readOnly === true, `volume ${v} mounted read-only`);
  }
  const vols = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
  const certDir = cm_cert ? "/etc/concord/gateway-cert" : "/etc/concord/gateway";
  if (cm_cert) {
    // The partner-facing identity from cert-manager: a Certificate by tls.issuerRef, its Secret
    // mounted as cert.pem/key.pem; the identity Secret gives export.key only.
    check(vols["gateway-identity"]?.secret?.items?.map((i) => i.key).join() === "export.key",
          "identity Secret: export.key only");
    const pc = find("Certificate", `${n}-partner`);
    check(pc, `Certificate ${n}-partner`);
    check(JSON.stringify(pc?.spec?.uris) === JSON.stringify([`spiffe://concord.be/agency/admin/concord-gateway`]),
          "partner Certificate URI SAN admin/concord-gateway");
    check(JSON.stringify(pc?.spec?.dnsNames ?? []) === JSON.stringify(exp.certificate.dnsNames ?? []) &&
          JSON.stringify(pc?.spec?.ipAddresses ?? []) === JSON.stringify(exp.certificate.ipAddresses ?? []),
          "partner Certificate SANs");
    check(["server auth", "client auth"].every((u) => pc?.spec?.usages?.includes(u)), "server and client auth");
    check(pc?.spec?.issuerRef?.name === "concord-ca", "issued by tls.issuerRef");
    const gc = vols["gateway-cert"]?.secret;
    check(gc?.secretName === `${n}-partner-tls` &&
          JSON.stringify(gc?.items) === JSON.stringify([{key: "tls.crt", path: "cert.pem"}, {key: "tls.key", path: "key.pem"}]),
          "cert-manager Secret mounted as cert.pem, key.pem");
    check(mounts["gateway-cert"]?.mountPath === certDir, `mounted at ${certDir}`);
  } else {
    check(vols["gateway-identity"]?.secret?.items?.map((i) => i.key).sort().join() === "cert.pem,export.key,key.pem",
          "identity Secret: cert.pem, key.pem, export.key");
    check(!find("Certificate", `${n}-partner`), "no partner Certificate (certificate = secret)");
    check(!vols["gateway-cert"], "no gateway-cert volume (certificate = secret)");
  }
  check(vols["partner-ca"]?.secret?.items?.[0]?.path === "ca.pem", "partner CA Secret");
  const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
  check(ports.partner === exp.partnerPort, "container port partner");

  const cm = find("ConfigMap", `${n}-config`);
  let cfg = {};
  try { cfg = JSON.parse(cm?.data?.["federation.json"] ?? "{}"); } catch { check(false, "federation.json parses"); }
  check(cfg.partner_export_key_pem === exp.partnerKey, "federation.json pins the partner key");
  check(cfg.listen_address === `0.0.0.0:${exp.partnerPort}`, "federation.json listen_address");
  check(cfg.partner_ca_file === "/etc/concord/partner-ca/ca.pem" && cfg.export_key_file === "/etc/concord/gateway/export.key" &&
        cfg.gateway_cert_file === `${certDir}/cert.pem` && cfg.gateway_key_file === `${certDir}/key.pem`,
        "federation.json paths are the mounts");
  check(Array.isArray(cfg.allow) && cfg.allow.length > 0 && Array.isArray(cfg.export) && cfg.export.length > 0, "allow and export");
  const grpcPort = dep?.spec?.template?.spec?.containers?.[0]?.ports?.find((p) => p.name === "grpc")?.containerPort;
  check(cfg.liaison_address === `${exp.liaison}:${grpcPort}`, `federation.json liaison_address ${exp.liaison}:${grpcPort} (${cfg.liaison_address})`);
  const liaisonComponent = exp.liaison.replace(/^concord-/, "");
  const lnp = find("NetworkPolicy", exp.liaison);
  check((lnp?.spec?.ingress ?? []).some((r) => r.ports?.some((p) => p.port === grpcPort) &&
        r.from?.some((f) => f.podSelector?.matchLabels?.["app.kubernetes.io/component"] === "gateway")),
        `${exp.liaison} NetworkPolicy admits the gateway's pods on gRPC`);

  const svc = find("Service", n);
  check(svc?.spec?.type === "ClusterIP", "internal Service ClusterIP");
  check(svc && !svc.spec.ports.some((p) => p.targetPort === "partner"), "internal Service has no partner port");
  const ps = find("Service", `${n}-partner`);
  check(ps?.spec?.type === exp.serviceType, `partner Service type ${exp.serviceType}`);
  check(ps?.spec?.ports?.length === 1 && ps.spec.ports[0].targetPort === "partner", "partner Service: partner port only");
  if (exp.serviceType !== "ClusterIP") check(ps?.spec?.externalTrafficPolicy === "Local", "externalTrafficPolicy Local");
  check(JSON.stringify(ps?.spec?.loadBalancerSourceRanges ?? []) === JSON.stringify(exp.sourceRanges), "loadBalancerSourceRanges");

  const np = find("NetworkPolicy", n);
  check(np, "NetworkPolicy");
  const ing = np?.spec?.ingress ?? [];
  const rule = (port) => ing.filter((r) => r.ports?.some((p) => p.port === port));
  const partnerRules = rule(exp.partnerPort);
  check(partnerRules.length === 1 && partnerRules[0].from.every((f) => f.ipBlock) &&
        JSON.stringify(partnerRules[0].from.map((f) => f.ipBlock.cidr)) === JSON.stringify(exp.cidrs),
        "partner port only from the partner CIDRs");
  const grpc = rule(grpcPort);
  check(grpc.length === 1 && grpc[0].from.every((f) => !f.ipBlock), "internal port from in-cluster peers only");
  const eg = np?.spec?.egress ?? [];
  const egPorts = eg.flatMap((r) => r.ports.map((p) => p.port)).sort((a, b) => a - b);
  check(JSON.stringify(egPorts) === JSON.stringify([53, 53, 6379, grpcPort, exp.partnerEgressPort].sort((a, b) => a - b)),
        `egress only DNS, Redis, liaison gRPC, partner (${egPorts})`);
  const toLiaison = eg.find((r) => r.ports.some((p) => p.port === grpcPort));
  check(toLiaison?.to?.length === 1 && toLiaison.to[0].podSelector?.matchLabels?.["app.kubernetes.io/component"] === liaisonComponent,
        `egress on gRPC to the ${liaisonComponent} pods only`);
  const toPartner = eg.find((r) => r.ports.some((p) => p.port === exp.partnerEgressPort));
  check(toPartner?.to?.every((t) => t.ipBlock), "egress to the partner by CIDR");
  check(!!find("ServiceMonitor", n) === exp.serviceMonitor, `ServiceMonitor ${exp.serviceMonitor}`);
  check(!!find("Certificate", n), "Certificate for the internal port");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
