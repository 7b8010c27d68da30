// Concord-specific expectations on a `helm template` rendering of helm/concord.
//   CONCORD_NODE_MODULES=<dir> node chart_expect.mjs <rendered.yaml> <expectations-json>
// expectations: {"workloads": {"<resource name>": {"binary": "concord-x", "signingKey": bool,
//               "spiffe": "spiffe://...",
//               optional, absent = "none of it":
//               "notifier": {"secret": "<Secret>", "target": "<host:port>" | null,
//                            "certManager": "<Certificate name>" (optional)},
//                   referrals notifier: --referrals-notifier-dir + read-only Secret mount
//                   (cert.pem key.pem sign.key seal.key), --referrals-messaging-target or none;
//                   with certManager: a projected volume (cert.pem/key.pem from the
//                   Certificate's Secret "<name>-tls", sign.key/seal.key from the Secret) and
//                   that client-auth Certificate for spiffe://<td>/agency/admin/concord-referrals
//               "directoryNotifier": {"secret": "<Secret>", "target": "<host:port>" | null}:
//                   --directory-notifier-dir + read-only Secret mount (cert.pem key.pem
//                   sign.key seal.key), --directory-messaging-target or none
//               "liaisonNotifier": {"secret": "<Secret>", "target": "<host:port>" | null}:
//                   --liaison-notifier-dir + read-only Secret mount (cert.pem key.pem
//                   sign.key seal.key), --liaison-messaging-target or none
//               "durations": ["--referral-x=N", ...]   exactly these --referral-* flags
//               "egressTo": [{"port": 7443, "component": "messaging"}]   extra egress rules
//               "ingressFrom": [{"port": 7443, "component": "referrals"}] extra ingress rules
//               "ipAddresses": ["127.0.0.1"]           Certificate IP SANs
//               "redisUsers": {"referrals": {"user": "u", "secret": "s"}}   overrides of the
//                   default Redis ACL user (concord-<module>) and Secret (concord-redis-<module>)
//               "checkpointClaim": "<PVC>"             the audit checkpoint volume is that claim
//              }}, "serviceMonitors": <count>,
//               "notifierSecret": {"name": "<Secret>", "key": "<key>", "generated": bool}
//                   (when a workload runs a notifier): --notifier-secret-file and a read-only
//                   mount of that Secret's key; generated: the chart renders it (32 random bytes)
//                   and no other Secret; otherwise the chart renders no Secret at all}
// Always checked: the modules a workload hosts (concord-server: all six; concord-<m>: m) each
// log in as their own Redis user (--redis-<m>-user + CONCORD_REDIS_<M>_PASSWORD from a Secret)
// and no other; the workload hosting audit exports checkpoints to a mounted volume.
// Prints one line per failed check and "N passed, N failed".
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
const of = (kind) => docs.filter((d) => d.kind === kind);
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.log(`FAIL ${what}`); } };

const names = Object.keys(exp.workloads);
const notifierCerts = Object.values(exp.workloads).map((w) => w.notifier?.certManager).filter(Boolean);
for (const kind of ["Deployment", "Service", "Certificate", "PodDisruptionBudget", "ServiceAccount"]) {
  const got = of(kind).map((d) => d.metadata.name).sort();
  const want = [...names, ...(kind === "Certificate" ? notifierCerts : [])].sort();
  check(JSON.stringify(got) === JSON.stringify(want), `${kind} names ${got} != ${want}`);
}
check(of("NetworkPolicy").length === names.length + 1, `NetworkPolicy count ${of("NetworkPolicy").length} (default deny + one per workload)`);
check(of("ServiceMonitor").length === exp.serviceMonitors, `ServiceMonitor count ${of("ServiceMonitor").length} != ${exp.serviceMonitors}`);
for (const sm of of("ServiceMonitor")) check(sm.spec.jobLabel === "app.kubernetes.io/part-of", `ServiceMonitor ${sm.metadata.name}: jobLabel`);
// The only Secret the chart may create is the generated notifier secret.
const ns = exp.notifierSecret;
const secrets = of("Secret");
if (ns?.generated) {
  check(secrets.length === 1 && secrets[0].metadata.name === ns.name, `Secrets ${secrets.map((x) => x.metadata.name)} != [${ns.name}]`);
  const value = secrets[0]?.data?.[ns.key];
  check(typeof value === "string" && Buffer.from(value, "base64").length === 32, `${ns.name}: ${ns.key} must be 32 random bytes`);
} else {
  check(secrets.length === 0, `the chart must not create Secrets (got ${secrets.map((x) => x.metadata.name)})`);
}

for (const [name, w] of Object.entries(exp.workloads)) {
  const dep = of("Deployment").find((d) => d.metadata.name === name);
  if (!dep) { check(false, `Deployment ${name} missing`); continue; }
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  check(pod.enableServiceLinks === false, `${name}: enableServiceLinks must be false (CONCORD_* collisions)`);
  check(pod.topologySpreadConstraints?.[0]?.topologyKey === "kubernetes.io/hostname", `${name}: spread across nodes`);
  const args = c.args ?? [];
  const has = (a) => check(args.includes(a), `${name}: arg ${a} missing (args: ${args.join(" ")})`);
  check(c.command?.[0] === w.binary, `${name}: command ${c.command} != ${w.binary}`);
  for (const a of ["--listen-address=0.0.0.0:7443", "--health-address=0.0.0.0:7081", "--metrics-address=0.0.0.0:9464",
                   "--tls-cert=/etc/concord/tls/tls.crt", "--tls-key=/etc/concord/tls/tls.key", "--tls-ca=/etc/concord/tls/ca.crt",
                   "--audit-key-file=/etc/concord/audit-key/audit.key"]) has(a);
  for (const p of ["--trust-domain=", "--redis-host=", "--redis-port=", "--drain-timeout-seconds="])
    check(args.some((a) => a.startsWith(p)), `${name}: ${p} missing`);
  const signing = args.includes("--audit-signing-key-file=/etc/concord/audit-signing-key/signing-key.pem");
  check(signing === w.signingKey, `${name}: audit signing key mounted=${signing}, expected ${w.signingKey}`);
  // One Redis ACL user per hosted module, each password from its own Secret; nothing else.
  const modules = w.binary === "concord-server" ? ["directory", "audit", "messaging", "referrals", "guidelines", "liaison"]
                                                : [w.binary.replace(/^concord-/, "")];
  const userArgs = args.filter((a) => /^--redis-[a-z0-9]+-user=/.test(a)).sort();
  const pwEnv = (c.env ?? []).filter((e) => /^CONCORD_REDIS_.*PASSWORD/.test(e.name));
  const wantUserArgs = [];
  for (const m of modules) {
    const o = w.redisUsers?.[m] ?? {};
    wantUserArgs.push(`--redis-${m}-user=${o.user ?? `concord-${m}`}`);
    const env = pwEnv.find((e) => e.name === `CONCORD_REDIS_${m.toUpperCase()}_PASSWORD`);
    check(env?.valueFrom?.secretKeyRef?.name === (o.secret ?? `concord-redis-${m}`) && env.valueFrom.secretKeyRef.key === "password",
          `${name}: CONCORD_REDIS_${m.toUpperCase()}_PASSWORD from Secret ${o.secret ?? `concord-redis-${m}`} (${JSON.stringify(env)})`);
  }
  check(JSON.stringify(userArgs) === JSON.stringify(wantUserArgs.sort()), `${name}: Redis user args ${userArgs} != ${wantUserArgs}`);
  check(pwEnv.length === modules.length, `${name}: ${pwEnv.length} Redis password variables for ${modules.length} modules`);
  check(!args.some((a) => /^--redis-(user|password)/.test(a) || /^--redis-[a-z0-9]+-password/.test(a)), `${name}: no Redis password flag`);
  // Exported audit checkpoints: on the workload hosting audit only, into a mounted volume.
  const cpVol = pod.volumes.find((v) => v.name === "audit-checkpoints");
  const cpMount = (c.volumeMounts ?? []).find((m) => m.name === "audit-checkpoints");
  if (modules.includes("audit")) {
    has("--audit-checkpoint-dir=/var/lib/concord/audit-checkpoints");
    has("--audit-checkpoint-interval-seconds=60");
    check(cpMount?.mountPath === "/var/lib/concord/audit-checkpoints" && !cpMount.readOnly, `${name}: checkpoint volume mounted read-write`);
    if (w.checkpointClaim) check(cpVol?.persistentVolumeClaim?.claimName === w.checkpointClaim, `${name}: checkpoint volume claim ${JSON.stringify(cpVol)}`);
    else check(cpVol?.emptyDir && !cpVol.persistentVolumeClaim, `${name}: checkpoint volume emptyDir by default`);
  } else {
    check(!args.some((a) => a.startsWith("--audit-checkpoint")) && !cpVol && !cpMount, `${name}: unexpected checkpoint export`);
  }
  for (const p of ["startupProbe", "readinessProbe"]) check(c[p]?.grpc?.port === 7081, `${name}: ${p} grpc port 7081`);
  check(c.livenessProbe?.httpGet?.port === 9464 || c.livenessProbe?.grpc?.port === 7081, `${name}: liveness probe`);
  const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
  check(ports.grpc === 7443 && ports.health === 7081 && ports.metrics === 9464, `${name}: container ports ${JSON.stringify(ports)}`);
  const tlsVol = pod.volumes.find((v) => v.name === "tls");
  const cert = of("Certificate").find((d) => d.metadata.name === name);
  check(tlsVol?.secret?.secretName === cert?.spec?.secretName, `${name}: TLS volume uses the Certificate's Secret`);
  check(!(c.volumeMounts ?? []).some((m) => m.subPath), `${name}: no subPath mounts (rotation)`);
  check(JSON.stringify(cert?.spec?.uris) === JSON.stringify([w.spiffe]), `${name}: Certificate uris ${cert?.spec?.uris} != ${w.spiffe}`);
  check(cert?.spec?.privateKey?.algorithm === "ECDSA" && cert.spec.privateKey.size === 256, `${name}: ECDSA P-256`);
  check(cert?.spec?.dnsNames?.includes(name) && cert.spec.dnsNames.some((d) => d.endsWith(".svc.cluster.local")), `${name}: dnsNames`);
  const svc = of("Service").find((d) => d.metadata.name === name);
  const sp = Object.fromEntries((svc?.spec?.ports ?? []).map((p) => [p.name, p.port]));
  check(sp.grpc === 7443 && sp.health === 7081 && sp.metrics === 9464, `${name}: Service ports ${JSON.stringify(sp)}`);
  const np = of("NetworkPolicy").find((d) => d.metadata.name === name);
  const egressTo = w.egressTo ?? [];
  const egressPorts = (np?.spec?.egress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port)).sort((a, b) => a - b);
  const wantEgress = [53, 53, 6379, ...egressTo.map((e) => e.port)].sort((a, b) => a - b);
  check(JSON.stringify(egressPorts) === JSON.stringify(wantEgress), `${name}: egress ports ${egressPorts} != ${wantEgress} (Redis, DNS and nothing else unless expected)`);
  // A rule to/from the pods of one workload of this release: podSelector only (same namespace).
  const peerRule = (rules, side, e) => rules.some((r) =>
    (r.ports ?? []).length === 1 && r.ports[0].port === e.port && r.ports[0].protocol === "TCP" &&
    (r[side] ?? []).length === 1 && !r[side][0].namespaceSelector && !r[side][0].ipBlock &&
    r[side][0].podSelector?.matchLabels?.["app.kubernetes.io/component"] === e.component &&
    r[side][0].podSelector?.matchLabels?.["app.kubernetes.io/instance"] === dep.metadata.labels["app.kubernetes.io/instance"]);
  for (const e of egressTo) check(peerRule(np?.spec?.egress ?? [], "to", e), `${name}: egress rule to ${e.component} pods port ${e.port}`);
  const ingressPorts = (np?.spec?.ingress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port));
  check(ingressPorts.includes(9464) && !ingressPorts.includes(7081), `${name}: ingress ${ingressPorts}`);
  const ingressFrom = w.ingressFrom ?? [];
  const podPeers = (np?.spec?.ingress ?? []).filter((r) => (r.from ?? []).some((f) => f.podSelector && !f.namespaceSelector));
  check(podPeers.length === ingressFrom.length, `${name}: ${podPeers.length} ingress rules from pods of the release, expected ${ingressFrom.length}`);
  for (const e of ingressFrom) check(peerRule(np?.spec?.ingress ?? [], "from", e), `${name}: ingress rule from ${e.component} pods port ${e.port}`);

  // Referrals notifier: flags, Secret volume, read-only mount; nothing of it elsewhere.
  const NOTIFIER_DIR = "/etc/concord/referrals-notifier";
  const notifierVol = pod.volumes.find((v) => v.name === "referrals-notifier");
  const notifierMount = (c.volumeMounts ?? []).find((m) => m.name === "referrals-notifier");
  const targetArgs = args.filter((a) => a.startsWith("--referrals-messaging-target"));
  const itemsOf = (src) => (src?.items ?? []).map((i) => `${i.key}>${i.path}`).sort();
  if (w.notifier?.certManager) {
    has(`--referrals-notifier-dir=${NOTIFIER_DIR}`);
    const sources = notifierVol?.projected?.sources ?? [];
    check(!notifierVol?.secret && sources.length === 2, `${name}: notifier volume projected from 2 Secrets`);
    const tlsSrc = sources.find((x) => x.secret?.name === `${w.notifier.certManager}-tls`)?.secret;
    const keySrc = sources.find((x) => x.secret?.name === w.notifier.secret)?.secret;
    check(JSON.stringify(itemsOf(tlsSrc)) === JSON.stringify(["tls.crt>cert.pem", "tls.key>key.pem"]),
          `${name}: notifier certificate items ${itemsOf(tlsSrc)}`);
    check(JSON.stringify(itemsOf(keySrc)) === JSON.stringify(["seal.key>seal.key", "sign.key>sign.key"]),
          `${name}: notifier key items ${itemsOf(keySrc)}`);
    check(tlsSrc?.optional !== true && keySrc?.optional !== true, `${name}: notifier Secrets must not be optional`);
    const nc = of("Certificate").find((d) => d.metadata.name === w.notifier.certManager);
    check(JSON.stringify(nc?.spec?.uris) === JSON.stringify([w.spiffe.replace(/\/service\/.*$/, "/agency/admin/concord-referrals")]),
          `${name}: notifier Certificate URI ${nc?.spec?.uris}`);
    check(nc?.spec?.secretName === `${w.notifier.certManager}-tls`, `${name}: notifier Certificate Secret ${nc?.spec?.secretName}`);
    check(JSON.stringify(nc?.spec?.usages) === JSON.stringify(["client auth", "digital signature"]) && !nc?.spec?.dnsNames,
          `${name}: notifier Certificate is a client certificate only (${nc?.spec?.usages})`);
    check(notifierMount?.mountPath === NOTIFIER_DIR && notifierMount.readOnly === true, `${name}: notifier mounted read-only at ${NOTIFIER_DIR}`);
    const want = w.notifier.target ? [`--referrals-messaging-target=${w.notifier.target}`] : [];
    check(JSON.stringify(targetArgs) === JSON.stringify(want), `${name}: messaging target args ${targetArgs} != ${want}`);
  } else if (w.notifier) {
    has(`--referrals-notifier-dir=${NOTIFIER_DIR}`);
    check(notifierVol?.secret?.secretName === w.notifier.secret, `${name}: notifier volume from Secret ${w.notifier.secret} (${notifierVol?.secret?.secretName})`);
    const items = itemsOf(notifierVol?.secret);
    check(JSON.stringify(items) === JSON.stringify(["cert.pem>cert.pem", "key.pem>key.pem", "seal.key>seal.key", "sign.key>sign.key"]),
          `${name}: notifier Secret items ${items}`);
    check(notifierVol?.secret?.optional !== true, `${name}: notifier Secret must not be optional`);
    check(notifierMount?.mountPath === NOTIFIER_DIR && notifierMount.readOnly === true, `${name}: notifier mounted read-only at ${NOTIFIER_DIR}`);
    const want = w.notifier.target ? [`--referrals-messaging-target=${w.notifier.target}`] : [];
    check(JSON.stringify(targetArgs) === JSON.stringify(want), `${name}: messaging target args ${targetArgs} != ${want}`);
  } else {
    check(!args.some((a) => a.startsWith("--referrals-")), `${name}: unexpected --referrals-* flags`);
    check(!notifierVol && !notifierMount, `${name}: unexpected notifier volume/mount`);
  }
  // Directory notifier (admin/concord-directory): flags, Secret volume, read-only mount.
  const DIR_NOTIFIER = "/etc/concord/directory-notifier";
  const dirVol = pod.volumes.find((v) => v.name === "directory-notifier");
  const dirMount = (c.volumeMounts ?? []).find((m) => m.name === "directory-notifier");
  const dirTargetArgs = args.filter((a) => a.startsWith("--directory-messaging-target"));
  if (w.directoryNotifier) {
    has(`--directory-notifier-dir=${DIR_NOTIFIER}`);
    check(dirVol?.secret?.secretName === w.directoryNotifier.secret, `${name}: directory notifier volume from Secret ${w.directoryNotifier.secret} (${dirVol?.secret?.secretName})`);
    check(JSON.stringify(itemsOf(dirVol?.secret)) === JSON.stringify(["cert.pem>cert.pem", "key.pem>key.pem", "seal.key>seal.key", "sign.key>sign.key"]),
          `${name}: directory notifier Secret items ${itemsOf(dirVol?.secret)}`);
    check(dirVol?.secret?.optional !== true, `${name}: directory notifier Secret must not be optional`);
    check(dirMount?.mountPath === DIR_NOTIFIER && dirMount.readOnly === true, `${name}: directory notifier mounted read-only at ${DIR_NOTIFIER}`);
    const want = w.directoryNotifier.target ? [`--directory-messaging-target=${w.directoryNotifier.target}`] : [];
    check(JSON.stringify(dirTargetArgs) === JSON.stringify(want), `${name}: directory messaging target args ${dirTargetArgs} != ${want}`);
  } else {
    check(!args.some((a) => a.startsWith("--directory-")), `${name}: unexpected --directory-* flags`);
    check(!dirVol && !dirMount, `${name}: unexpected directory notifier volume/mount`);
  }
  // Liaison notifier (admin/concord-liaison): flags, Secret volume, read-only mount.
  const LIA_NOTIFIER = "/etc/concord/liaison-notifier";
  const liaVol = pod.volumes.find((v) => v.name === "liaison-notifier");
  const liaMount = (c.volumeMounts ?? []).find((m) => m.name === "liaison-notifier");
  const liaArgs = args.filter((a) => a.startsWith("--liaison-notifier-dir") || a.startsWith("--liaison-messaging-target"));
  if (w.liaisonNotifier) {
    has(`--liaison-notifier-dir=${LIA_NOTIFIER}`);
    check(liaVol?.secret?.secretName === w.liaisonNotifier.secret, `${name}: liaison notifier volume from Secret ${w.liaisonNotifier.secret} (${liaVol?.secret?.secretName})`);
    check(JSON.stringify(itemsOf(liaVol?.secret)) === JSON.stringify(["cert.pem>cert.pem", "key.pem>key.pem", "seal.key>seal.key", "sign.key>sign.key"]),
          `${name}: liaison notifier Secret items ${itemsOf(liaVol?.secret)}`);
    check(liaVol?.secret?.optional !== true, `${name}: liaison notifier Secret must not be optional`);
    check(liaMount?.mountPath === LIA_NOTIFIER && liaMount.readOnly === true, `${name}: liaison notifier mounted read-only at ${LIA_NOTIFIER}`);
    const want = [`--liaison-notifier-dir=${LIA_NOTIFIER}`].concat(w.liaisonNotifier.target ? [`--liaison-messaging-target=${w.liaisonNotifier.target}`] : []);
    check(JSON.stringify(liaArgs) === JSON.stringify(want), `${name}: liaison notifier args ${liaArgs} != ${want}`);
  } else {
    check(liaArgs.length === 0, `${name}: unexpected --liaison-notifier-dir / --liaison-messaging-target`);
    check(!liaVol && !liaMount, `${name}: unexpected liaison notifier volume/mount`);
  }
  // The notifier secret: with a notifier, its flag and a read-only mount of the Secret's key.
  const secretVol = pod.volumes.find((v) => v.name === "notifier-secret");
  const secretMount = (c.volumeMounts ?? []).find((m) => m.name === "notifier-secret");
  if (w.notifier || w.directoryNotifier || w.liaisonNotifier) {
    has("--notifier-secret-file=/etc/concord/notifier-secret/notifier.secret");
    check(secretVol?.secret?.secretName === ns?.name, `${name}: notifier secret volume from ${secretVol?.secret?.secretName}, expected ${ns?.name}`);
    check(JSON.stringify(itemsOf(secretVol?.secret)) === JSON.stringify([`${ns?.key}>notifier.secret`]), `${name}: notifier secret items ${itemsOf(secretVol?.secret)}`);
    check(secretVol?.secret?.optional !== true, `${name}: notifier secret must not be optional`);
    check(secretMount?.mountPath === "/etc/concord/notifier-secret" && secretMount.readOnly === true, `${name}: notifier secret mounted read-only`);
  } else {
    check(!args.some((a) => a.startsWith("--notifier-secret-file")), `${name}: unexpected --notifier-secret-file`);
    check(!secretVol && !secretMount, `${name}: unexpected notifier secret volume/mount`);
  }
  const durations = args.filter((a) => a.startsWith("--referral-"));
  check(JSON.stringify([...durations].sort()) === JSON.stringify([...(w.durations ?? [])].sort()),
        `${name}: referral duration flags ${durations} != ${w.durations ?? []}`);
  check(JSON.stringify(cert?.spec?.ipAddresses) === JSON.stringify(w.ipAddresses),
        `${name}: Certificate ipAddresses ${cert?.spec?.ipAddresses} != ${w.ipAddresses}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
