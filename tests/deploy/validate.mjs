// Validates Kubernetes manifests offline (multi-document YAML rendered by `helm template`).
//
//   node validate.mjs <rendered.yaml>...      (NODE_PATH is not used by ESM: run it with
//                                              CONCORD_NODE_MODULES=<dir>/node_modules)
//
// 1. Schema: every object is validated with its kubernetes-models class (ajv, Kubernetes 1.27+
//    schemas; cert-manager and prometheus-operator CRD schemas). Unknown kinds fail.
// 2. Policy: checks the schemas cannot express (they allow unknown fields): restricted pod
//    security, numeric gRPC probe ports, drain vs. grace period, cert-manager fields Concord
//    relies on, secrets only by reference.
// Prints one line per object and ends with "N passed, N failed"; exit status 1 on any failure.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const modulesDir = process.env.CONCORD_NODE_MODULES;
if (!modulesDir) {
  console.error("validate.mjs: set CONCORD_NODE_MODULES to the node_modules directory");
  process.exit(2);
}
const load = (spec) => {
  // Resolve a package subpath export from an explicit node_modules directory.
  const [pkg, ...rest] = spec.startsWith("@") ? [spec.split("/").slice(0, 2).join("/"), ...spec.split("/").slice(2)]
                                              : [spec.split("/")[0], ...spec.split("/").slice(1)];
  const pj = JSON.parse(readFileSync(path.join(modulesDir, pkg, "package.json"), "utf8"));
  const sub = rest.length ? "./" + rest.join("/") : ".";
  let entry = pj.exports?.[sub];
  if (typeof entry === "object") entry = entry.import ?? entry.default ?? entry.require;
  if (!entry) entry = pj.module ?? pj.main ?? "index.js";
  return import(pathToFileURL(path.join(modulesDir, pkg, entry)).href);
};

const yaml = await load("js-yaml");

function moduleFor(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "") return `kubernetes-models/${version}`;
  if (group.endsWith("cert-manager.io")) return `@kubernetes-models/cert-manager/${group}/${version}`;
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

function policy(obj) {
  const errs = [];
  const kind = obj.kind;
  if (kind === "Deployment" || kind === "StatefulSet" || kind === "DaemonSet") {
    const pod = obj.spec?.template?.spec ?? {};
    const psc = pod.securityContext ?? {};
    if (psc.runAsNonRoot !== true) errs.push("pod securityContext.runAsNonRoot must be true");
    if (psc.seccompProfile?.type !== "RuntimeDefault") errs.push("pod seccompProfile must be RuntimeDefault");
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) errs.push("host namespaces are not allowed");
    if (pod.automountServiceAccountToken !== false) errs.push("automountServiceAccountToken must be false");
    const drainArg = (c) => (c.args ?? []).find((a) => a.startsWith("--drain-timeout-seconds="));
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      const sc = c.securityContext ?? {};
      const where = `container ${c.name}`;
      if (sc.allowPrivilegeEscalation !== false) errs.push(`${where}: allowPrivilegeEscalation must be false`);
      if (sc.readOnlyRootFilesystem !== true) errs.push(`${where}: readOnlyRootFilesystem must be true`);
      if (sc.privileged) errs.push(`${where}: privileged`);
      const drop = sc.capabilities?.drop ?? [];
      if (!drop.includes("ALL")) errs.push(`${where}: capabilities.drop must contain ALL`);
      if ((sc.capabilities?.add ?? []).length) errs.push(`${where}: capabilities.add must be empty`);
      for (const p of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        if (!c[p]) { errs.push(`${where}: ${p} missing`); continue; }
        if (c[p].grpc && typeof c[p].grpc.port !== "number") errs.push(`${where}: ${p}.grpc.port must be a number`);
      }
      if (!c.readinessProbe?.grpc) errs.push(`${where}: readinessProbe must be a native gRPC probe`);
      if (!c.resources?.requests || !c.resources?.limits?.memory) errs.push(`${where}: resources.requests and limits.memory required`);
      for (const a of c.args ?? []) {
        if (/^--redis-([a-z0-9]+-)?password(=|$)/.test(a)) errs.push(`${where}: Redis password on the command line`);
      }
      for (const e of c.env ?? []) {
        if (/PASSWORD|KEY/.test(e.name) && e.value !== undefined) errs.push(`${where}: ${e.name} must come from a Secret`);
      }
      const d = drainArg(c);
      if (d) {
        const drain = Number(d.split("=")[1]);
        if (!(pod.terminationGracePeriodSeconds > drain)) errs.push(`terminationGracePeriodSeconds must exceed the drain timeout ${drain}`);
      }
    }
  }
  if (kind === "Certificate") {
    const s = obj.spec ?? {};
    // A service's X.509-SVID (server + client), or Concord's own notifier agency identity
    // (client only): spiffe://<td>/agency/admin/concord-<name>. The federation gateway's
    // partner-facing identity admin/concord-gateway is server + client (the partner's gateway
    // dials it, and it dials the partner's).
    const gatewayIdentity = (s.uris ?? []).length === 1 && /^spiffe:\/\/[a-z0-9._-]+\/agency\/admin\/concord-gateway$/.test(s.uris[0]);
    const notifier = !gatewayIdentity && (s.uris ?? []).length === 1 && /^spiffe:\/\/[a-z0-9._-]+\/agency\/admin\/concord-[a-z0-9-]+$/.test(s.uris[0]);
    if (!notifier && !gatewayIdentity && ((s.uris ?? []).length !== 1 || !/^spiffe:\/\/[a-z0-9._-]+\/service\/[a-z0-9-]+$/.test(s.uris[0])))
      errs.push("exactly one SPIFFE URI SAN spiffe://<td>/service/<name> (or .../agency/admin/concord-<name>) required");
    for (const u of notifier ? ["client auth"] : ["server auth", "client auth"]) if (!(s.usages ?? []).includes(u)) errs.push(`usage ${u} missing`);
    if (notifier && (s.usages ?? []).includes("server auth")) errs.push("the notifier identity is a client certificate only");
    if (s.privateKey?.rotationPolicy !== "Always") errs.push("privateKey.rotationPolicy must be Always");
    if (!s.issuerRef?.name) errs.push("issuerRef.name required");
  }
  // Secrets are referenced, never templated; the one exception is the notifier secret, which
  // the chart generates (random bytes, read back on upgrade) and nothing else can hold.
  if (kind === "Secret") {
    const keys = Object.keys(obj.data ?? {});
    if (!/-notifier-secret$/.test(obj.metadata?.name ?? "")) errs.push("the chart must not create Secrets other than the generated notifier secret");
    if (keys.length !== 1 || Buffer.from(obj.data[keys[0]], "base64").length !== 32) errs.push("the notifier secret holds one key of 32 random bytes");
    if (obj.stringData) errs.push("no stringData: the value is generated, never templated from values");
  }
  if (kind === "NetworkPolicy") {
    for (const r of obj.spec?.ingress ?? []) if (!r.from || r.from.length === 0) errs.push("ingress rule without from (allows everyone)");
    for (const r of obj.spec?.egress ?? []) if (!r.to || r.to.length === 0) errs.push("egress rule without to (allows everything)");
  }
  return errs;
}

let passed = 0, failed = 0;
for (const file of process.argv.slice(2)) {
  const docs = yaml.loadAll(readFileSync(file, "utf8")).filter((d) => d && typeof d === "object");
  for (const obj of docs) {
    const id = `${file}: ${obj.apiVersion}/${obj.kind} ${obj.metadata?.name ?? "?"}`;
    const errs = [];
    try {
      const mod = await load(moduleFor(obj.apiVersion ?? ""));
      const Model = mod[obj.kind];
      if (!Model) throw new Error(`no model for ${obj.apiVersion} ${obj.kind}`);
      new Model(obj).validate();
    } catch (e) {
      errs.push(`schema: ${e.message.split("\n").slice(0, 6).join("; ")}`);
    }
    errs.push(...policy(obj));
    if (errs.length) { failed++; console.log(`FAIL ${id}`); for (const e of errs) console.log(`     ${e}`); }
    else { passed++; console.log(`ok   ${id}`); }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
