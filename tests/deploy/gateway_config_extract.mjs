// The federation gateway of a `helm template` rendering of helm/concord, laid out on disk so that
// the real binary can check it (`concord-gateway --check-config`, tests/deploy/helm_test.sh):
//   CONCORD_NODE_MODULES=<dir> node gateway_config_extract.mjs <rendered.yaml> <root>
// writes under <root>:
//   args        the gateway container's command line (one argument a line, without the binary),
//               every /etc/concord/ path moved under <root>/etc/concord/
//   env         NAME=value of every environment variable (Secret references get a placeholder)
//   etc/concord/<mount>/<file>  every file the pod mounts: the ConfigMap's federation.json (its
//               paths moved under <root> too), and for Secrets a stand-in of the right kind
//               (audit.key: 64 hex characters; export.key: a fresh Ed25519 PKCS#8 PEM key; any
//               other file: a placeholder, since the check does not parse certificates)
// Exits 1 when the rendering holds no concord-gateway Deployment or its ConfigMap.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import path from "node:path";

const dir = process.env.CONCORD_NODE_MODULES;
const pj = JSON.parse(readFileSync(path.join(dir, "js-yaml", "package.json"), "utf8"));
let entry = pj.exports?.["."];
if (typeof entry === "object") entry = entry.import ?? entry.default;
const yaml = await import(pathToFileURL(path.join(dir, "js-yaml", entry ?? pj.module ?? pj.main)).href);

const [file, root] = process.argv.slice(2);
const docs = yaml.loadAll(readFileSync(file, "utf8")).filter((d) => d && typeof d === "object");
const dep = docs.find((d) => d.kind === "Deployment" &&
  d.spec?.template?.spec?.containers?.[0]?.command?.[0] === "concord-gateway");
if (!dep) { console.log(`no concord-gateway Deployment in ${file}`); process.exit(1); }
const pod = dep.spec.template.spec;
const c = pod.containers[0];
const moved = (s) => s.split("/etc/concord/").join(`${root}/etc/concord/`);

writeFileSync(path.join(root, "args"), [...(c.command ?? []).slice(1), ...(c.args ?? [])].map(moved).join("\n") + "\n");
writeFileSync(path.join(root, "env"),
  (c.env ?? []).map((e) => `${e.name}=${e.value !== undefined ? moved(String(e.value)) : "placeholder-secret"}`).join("\n") + "\n");

const standIn = (name) => {
  if (name === "audit.key") return randomBytes(32).toString("hex") + "\n";
  if (name === "export.key") {
    return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" });
  }
  return "placeholder (not parsed by --check-config)\n";
};
const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
for (const m of c.volumeMounts ?? []) {
  const v = volumes[m.name];
  const target = path.join(root, m.mountPath);
  mkdirSync(target, { recursive: true });
  if (v?.configMap) {
    const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata?.name === v.configMap.name);
    if (!cm) { console.log(`no ConfigMap ${v.configMap.name}`); process.exit(1); }
    for (const item of v.configMap.items ?? Object.keys(cm.data).map((k) => ({ key: k, path: k }))) {
      writeFileSync(path.join(target, item.path), moved(cm.data[item.key]));
    }
  } else if (v?.secret) {
    for (const item of v.secret.items ?? []) writeFileSync(path.join(target, item.path), standIn(item.path), { mode: 0o600 });
  }
}
console.log(`gateway of ${path.basename(file)}: ${c.args?.length ?? 0} arguments, ${(c.volumeMounts ?? []).length} mounts under ${root}`);
