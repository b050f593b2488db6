//! The Kubernetes manifests (`ops/k8s`, issue 20 point 2): every overlay is rendered with
//! `kubectl kustomize` (kubectl's built-in kustomize; no cluster needed) and the rendered objects
//! are checked for what an operator relies on: the API and the planning worker as separate
//! Deployments with probes on `/healthz` and `/readyz`, resources, a locked-down security
//! context, topology spread and a grace period longer than the service's drain; a Service for
//! the API only; HPAs (CPU, and the planning queue for workers); PodDisruptionBudgets matching
//! the pods; NetworkPolicies (default deny, ingress from the ingress controller, egress to the
//! database, OSRM, the bank's SFTP server and Turnkey's host); configuration from a ConfigMap and
//! secrets mounted as files; every image pinned by digest; the backup CronJob; PostgreSQL HA
//! from CloudNativePG with WAL archiving.
//!
//! kubectl is required: the test fails loudly without it.

use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const OVERLAYS: &[&str] = &["staging", "production"];

fn render(overlay: &str) -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/k8s/overlays").join(overlay);
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("kubectl is needed to render ops/k8s ({e}); install it (it carries kustomize)"));
    assert!(out.status.success(), "kubectl kustomize {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    serde_yaml::Deserializer::from_str(&text).map(|doc| Value::deserialize(doc).expect("a YAML document")).filter(|v| !v.is_null()).collect()
}

fn s<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for key in path.split('.') {
        cur = match key.parse::<usize>() {
            Ok(i) => cur.get(i).unwrap_or(&Value::Null),
            Err(_) => cur.get(key).unwrap_or(&Value::Null),
        };
    }
    cur
}

fn text<'a>(v: &'a Value, path: &str) -> &'a str {
    s(v, path).as_str().unwrap_or_default()
}

fn items<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    s(v, path).as_sequence().map_or(&[], Vec::as_slice)
}

fn kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| text(o, "kind") == kind).collect()
}

fn named<'a>(objects: &'a [Value], kind_: &str, name: &str) -> &'a Value {
    kind(objects, kind_).into_iter().find(|o| text(o, "metadata.name") == name).unwrap_or_else(|| panic!("no {kind_} {name}"))
}

/// Whether `selector` (`matchLabels`) selects `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let want = s(selector, "matchLabels").as_mapping().cloned().unwrap_or_default();
    !want.is_empty() && want.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn env<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    items(container, "env").iter().find(|e| text(e, "name") == name)
}

fn is_digest_pinned(image: &str) -> bool {
    image
        .split_once("@sha256:")
        .is_some_and(|(name, hex)| !name.is_empty() && hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
}

/// Every pod template of the rendered objects, with the object's name.
fn pod_specs(objects: &[Value]) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for o in objects {
        let name = format!("{} {}", text(o, "kind"), text(o, "metadata.name"));
        match text(o, "kind") {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => out.push((name, s(o, "spec.template.spec"))),
            "CronJob" => out.push((name, s(o, "spec.jobTemplate.spec.template.spec"))),
            _ => {}
        }
    }
    out
}

fn check_overlay(overlay: &str) {
    let objects = render(overlay);
    let kinds: BTreeSet<&str> = objects.iter().map(|o| text(o, "kind")).collect();
    for k in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        "CronJob",
        "Cluster",
        "Ingress",
        "ServiceAccount",
    ] {
        assert!(kinds.contains(k), "{overlay}: no {k} among {kinds:?}");
    }
    assert!(kind(&objects, "Secret").is_empty(), "{overlay}: secrets are created by the operator, never kept in the repository");
    let namespaces: BTreeSet<&str> = objects.iter().map(|o| text(o, "metadata.namespace")).collect();
    assert_eq!(namespaces.len(), 1, "{overlay}: one namespace: {namespaces:?}");

    // Images: every container of every pod pinned by digest; the database's image too.
    for (what, spec) in pod_specs(&objects) {
        for c in items(spec, "containers").iter().chain(items(spec, "initContainers")) {
            assert!(is_digest_pinned(text(c, "image")), "{overlay} {what}: image {:?} is not pinned by digest", text(c, "image"));
        }
        // Locked down: non-root, no service-account token, read-only root, no privilege, no capability.
        assert_eq!(s(spec, "securityContext.runAsNonRoot").as_bool(), Some(true), "{overlay} {what}");
        assert!(s(spec, "securityContext.runAsUser").as_u64().is_some_and(|u| u > 0), "{overlay} {what}");
        assert_eq!(text(spec, "securityContext.seccompProfile.type"), "RuntimeDefault", "{overlay} {what}");
        assert_eq!(s(spec, "automountServiceAccountToken").as_bool(), Some(false), "{overlay} {what}");
        for c in items(spec, "containers") {
            assert_eq!(s(c, "securityContext.readOnlyRootFilesystem").as_bool(), Some(true), "{overlay} {what}");
            assert_eq!(s(c, "securityContext.allowPrivilegeEscalation").as_bool(), Some(false), "{overlay} {what}");
            assert!(items(c, "securityContext.capabilities.drop").iter().any(|d| d.as_str() == Some("ALL")), "{overlay} {what}");
            for r in ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"] {
                assert!(!s(c, &format!("resources.{r}")).is_null(), "{overlay} {what}: no resources.{r}");
            }
            // Secrets only as files: no secret value in the environment, except DATABASE_URL
            // from the database operator's generated secret (sqlx reads no password file).
            for e in items(c, "env") {
                if !s(e, "valueFrom.secretKeyRef").is_null() {
                    assert_eq!(text(e, "name"), "DATABASE_URL", "{overlay} {what}: secret {} in the environment; mount it as a file", text(e, "name"));
                }
                if text(e, "name").ends_with("_FILE") {
                    let path = text(e, "value");
                    let mounted = items(c, "volumeMounts").iter().any(|m| path.starts_with(text(m, "mountPath")) && s(m, "readOnly").as_bool() == Some(true));
                    assert!(mounted, "{overlay} {what}: {} = {path} is not on a read-only mounted volume", text(e, "name"));
                }
            }
            assert!(items(c, "envFrom").iter().chain(items(c, "env")).count() > 0, "{overlay} {what}: no configuration");
        }
        // The read-only root filesystem needs a writable /tmp.
        let tmp = items(spec, "containers").iter().flat_map(|c| items(c, "volumeMounts")).any(|m| text(m, "mountPath") == "/tmp");
        assert!(tmp, "{overlay} {what}: no writable /tmp");
    }
    let cluster = named(&objects, "Cluster", "luckygas-db");
    assert!(is_digest_pinned(text(cluster, "spec.imageName")), "{overlay}: the database image is not pinned by digest");

    // The API and the worker.
    let api = named(&objects, "Deployment", "luckygas-api");
    let worker = named(&objects, "Deployment", "luckygas-worker");
    let config = named(&objects, "ConfigMap", "luckygas-config");
    let drain: u64 = text(config, "data.LUCKYGAS_DRAIN_SECONDS").parse().expect("LUCKYGAS_DRAIN_SECONDS in the ConfigMap");
    for (name, d, plan_workers_zero) in [("api", api, true), ("worker", worker, false)] {
        let spec = s(d, "spec.template.spec");
        let c = &items(spec, "containers")[0];
        let pw = env(c, "PLAN_WORKERS").map(|e| text(e, "value")).unwrap_or_else(|| panic!("{overlay} {name}: PLAN_WORKERS is set"));
        assert_eq!(pw == "0", plan_workers_zero, "{overlay} {name}: PLAN_WORKERS = {pw}");
        assert!(items(c, "envFrom").iter().any(|e| text(e, "configMapRef.name") == "luckygas-config"), "{overlay} {name}: config from the ConfigMap");
        assert_eq!(text(c, "livenessProbe.httpGet.path"), "/healthz", "{overlay} {name}");
        assert_eq!(text(c, "readinessProbe.httpGet.path"), "/readyz", "{overlay} {name}");
        let port = items(c, "ports").iter().find(|p| text(p, "name") == "http").unwrap_or_else(|| panic!("{overlay} {name}: a port named http"));
        assert_eq!(s(port, "containerPort").as_u64(), Some(8080));
        assert!(items(c, "args").iter().any(|a| a.as_str() == Some("serve")), "{overlay} {name}: runs serve");
        // Graceful termination: the grace period covers the preStop pause and the drain.
        let grace = s(spec, "terminationGracePeriodSeconds").as_u64().unwrap_or(30);
        let pause = s(c, "lifecycle.preStop.sleep.seconds").as_u64().unwrap_or(0);
        assert!(grace > pause + drain, "{overlay} {name}: grace {grace} s ≤ preStop {pause} s + drain {drain} s");
        // Spread over zones and nodes, selecting its own pods.
        let labels = s(d, "spec.template.metadata.labels");
        let spread = items(spec, "topologySpreadConstraints");
        for key in ["topology.kubernetes.io/zone", "kubernetes.io/hostname"] {
            let c = spread.iter().find(|t| text(t, "topologyKey") == key).unwrap_or_else(|| panic!("{overlay} {name}: no spread over {key}"));
            assert!(selects(s(c, "labelSelector"), labels), "{overlay} {name}: the spread over {key} selects other pods");
        }
        assert!(selects(s(d, "spec.selector"), labels), "{overlay} {name}: the selector selects its pods");
        // A PDB and an HPA for it.
        let pdbs: Vec<_> = kind(&objects, "PodDisruptionBudget").into_iter().filter(|p| selects(s(p, "spec.selector"), labels)).collect();
        assert_eq!(pdbs.len(), 1, "{overlay} {name}: one PodDisruptionBudget");
        let hpa = kind(&objects, "HorizontalPodAutoscaler")
            .into_iter()
            .find(|h| text(h, "spec.scaleTargetRef.name") == text(d, "metadata.name"))
            .unwrap_or_else(|| panic!("{overlay} {name}: no HPA"));
        let metrics = items(hpa, "spec.metrics");
        assert!(metrics.iter().any(|m| text(m, "resource.name") == "cpu"), "{overlay} {name}: the HPA scales on CPU");
        if name == "worker" {
            let queue = metrics.iter().any(|m| {
                let t = text(m, "type").to_lowercase();
                text(m, &format!("{t}.metric.name")) == "luckygas_planning_queue_depth"
            });
            assert!(queue, "{overlay}: the worker HPA scales on the planning queue depth");
        }
        assert!(s(hpa, "spec.maxReplicas").as_u64() > s(hpa, "spec.minReplicas").as_u64(), "{overlay} {name}");
    }
    let api_labels = s(api, "spec.template.metadata.labels");
    let worker_labels = s(worker, "spec.template.metadata.labels");
    let services: Vec<_> = kind(&objects, "Service")
        .into_iter()
        .filter(|svc| selects(&Value::Mapping([("matchLabels".into(), s(svc, "spec.selector").clone())].into_iter().collect()), api_labels))
        .collect();
    assert!(!services.is_empty(), "{overlay}: a Service selects the API");
    for svc in kind(&objects, "Service") {
        let as_selector = Value::Mapping([("matchLabels".into(), s(svc, "spec.selector").clone())].into_iter().collect());
        if text(svc, "metadata.name") == "luckygas-api" {
            assert!(!selects(&as_selector, worker_labels), "{overlay}: the API Service must not send requests to workers");
        }
    }
    let ingress = kind(&objects, "Ingress")[0];
    assert_eq!(text(ingress, "spec.rules.0.http.paths.0.backend.service.name"), "luckygas-api", "{overlay}");
    assert!(!items(ingress, "spec.tls").is_empty(), "{overlay}: the Ingress terminates TLS");
    // The production minimum: more than one API replica.
    if overlay == "production" {
        let hpa = kind(&objects, "HorizontalPodAutoscaler").into_iter().find(|h| text(h, "spec.scaleTargetRef.name") == "luckygas-api").expect("api hpa");
        assert!(s(hpa, "spec.minReplicas").as_u64() >= Some(2), "production runs at least two API replicas");
        assert!(s(cluster, "spec.instances").as_u64() >= Some(3), "production runs a primary and two replicas");
    }
    assert!(s(cluster, "spec.instances").as_u64() >= Some(2), "{overlay}: PostgreSQL with a replica");

    // Network: default deny both ways; API ingress from the ingress controller (and Prometheus);
    // egress to DNS, the database, OSRM, the bank's SFTP and Turnkey.
    let policies = kind(&objects, "NetworkPolicy");
    let deny = policies.iter().any(|p| {
        s(p, "spec.podSelector").as_mapping().is_none_or(|m| m.is_empty())
            && items(p, "spec.policyTypes").len() == 2
            && s(p, "spec.ingress").is_null()
            && s(p, "spec.egress").is_null()
    });
    assert!(deny, "{overlay}: a default-deny NetworkPolicy");
    let applies_to = |labels: &Value| policies.iter().filter(move |p| selects(s(p, "spec.podSelector"), labels)).copied().collect::<Vec<_>>();
    let api_policies = applies_to(api_labels);
    let from_ingress_controller = api_policies
        .iter()
        .flat_map(|p| items(p, "spec.ingress"))
        .flat_map(|r| items(r, "from"))
        .any(|f| s(f, "namespaceSelector.matchLabels").as_mapping().is_some_and(|m| m.values().any(|v| v.as_str().is_some_and(|n| n.contains("ingress")))));
    assert!(from_ingress_controller, "{overlay}: the API takes ingress from the ingress controller's namespace");
    for (name, labels) in [("api", api_labels), ("worker", worker_labels)] {
        let egress: Vec<&Value> = applies_to(labels).iter().flat_map(|p| items(p, "spec.egress")).collect();
        let ports: BTreeSet<u64> = egress.iter().flat_map(|r| items(r, "ports")).filter_map(|p| s(p, "port").as_u64()).collect();
        for (port, what) in [(53, "DNS"), (5432, "PostgreSQL"), (5000, "OSRM")] {
            assert!(ports.contains(&port), "{overlay} {name}: no egress to {what} (port {port}): {ports:?}");
        }
        let to_db = egress
            .iter()
            .any(|r| items(r, "to").iter().any(|t| s(t, "podSelector.matchLabels").get("cnpg.io/cluster").and_then(Value::as_str) == Some("luckygas-db")));
        assert!(to_db, "{overlay} {name}: egress to the database's pods");
        if name == "worker" {
            let blocks = egress.iter().flat_map(|r| items(r, "to")).filter(|t| !s(t, "ipBlock.cidr").is_null()).count();
            assert!(blocks >= 2 && ports.contains(&22), "{overlay}: the worker reaches the bank's SFTP server and Turnkey's host");
        }
    }

    // Backups: hourly-ish, never two at once, into a volume, with the database URL.
    let cron = named(&objects, "CronJob", "luckygas-backup");
    assert_eq!(text(cron, "spec.concurrencyPolicy"), "Forbid", "{overlay}");
    let c = &items(cron, "spec.jobTemplate.spec.template.spec.containers")[0];
    let args: Vec<&str> = items(c, "args").iter().filter_map(Value::as_str).collect();
    assert_eq!(args.first(), Some(&"backup"), "{overlay}: the CronJob runs `luckygas backup`: {args:?}");
    assert!(args.contains(&"--to-dir"), "{overlay}: {args:?}");
    assert!(env(c, "DATABASE_URL").is_some(), "{overlay}: the backup reaches the database");
    assert!(items(c, "volumeMounts").iter().any(|m| args.iter().any(|a| *a == text(m, "mountPath"))), "{overlay}: the backups land on a volume");
    // PostgreSQL: continuous archiving and scheduled base backups by the operator.
    assert!(!s(cluster, "spec.backup.barmanObjectStore.destinationPath").is_null(), "{overlay}: WAL archiving to an object store");
    assert!(!s(cluster, "spec.backup.barmanObjectStore.wal").is_null(), "{overlay}: WAL archiving is configured");
    assert!(!kind(&objects, "ScheduledBackup").is_empty(), "{overlay}: scheduled base backups");
}

#[test]
fn the_overlays_render_and_hold_the_invariants() {
    for overlay in OVERLAYS {
        check_overlay(overlay);
    }
}

#[test]
fn the_overlays_differ_where_they_should() {
    let staging = render("staging");
    let production = render("production");
    let host = |o: &[Value]| text(kind(o, "Ingress")[0], "spec.rules.0.host").to_owned();
    assert_ne!(host(&staging), host(&production));
    let instances = |o: &[Value]| s(named(o, "Cluster", "luckygas-db"), "spec.instances").as_u64();
    assert!(instances(&production) > instances(&staging));
    let ns = |o: &[Value]| text(&o[0], "metadata.namespace").to_owned();
    assert_ne!(ns(&staging), ns(&production));
}

#[test]
fn digest_pinning_is_recognised() {
    assert!(is_digest_pinned(&format!("registry.example.tw/luckygas/planner@sha256:{}", "ab".repeat(32))));
    assert!(!is_digest_pinned("registry.example.tw/luckygas/planner:1.0"));
    assert!(!is_digest_pinned("registry.example.tw/luckygas/planner@sha256:abc"));
    assert!(!is_digest_pinned(&format!("planner@sha256:{}", "AB".repeat(32))));
}
