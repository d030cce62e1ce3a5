// The pinned versions of every binary the test control plane runs. One place, so moving to a new
// Kubernetes minor or patch is a one-line change: the build derives everything else (staging
// module replaces, godebug settings, version ldflags) from the tag itself.
//
// v1.34.10 is the newest 1.34 patch that builds through the module proxy with checksum
// verification: the proxy serves k8s.io/kubernetes v1.34.11 and v1.34.12, but the checksum
// database (sum.golang.org, reached through the proxy) answers 404 for them, so `go` refuses
// them unless GONOSUMDB is set. Try a newer patch with `go mod download -json
// k8s.io/kubernetes@v1.34.N` (no "Error" field = usable). etcd 3.6 is the line kwokctl pairs with
// Kubernetes 1.34–1.36.

export const K8S_VERSION = 'v1.34.10';
export const ETCD_VERSION = 'v3.6.16';
export const KWOK_VERSION = 'v0.8.0';

// The S3-compatible server of the backup tests (src/dev/s3-gateway.ts): Versity Gateway, Apache
// 2.0, `go install`-able from the module proxy (no replace directives), serving a plain directory
// (`posix` backend). MinIO is AGPL and not used; an in-memory fake would not prove the agent
// against a real S3 implementation. v1.8.0 is the only version the proxy lists.
export const VERSITYGW_VERSION = 'v1.8.0';

// Helm, for the chart's tests (charts/frappe-operator, test/integration/helm): the v4 CLI,
// `go install`-able from the module proxy (its go.mod has no replace directives).
export const HELM_VERSION = 'v4.3.2';

// The exporters of the monitoring tests (test/integration/monitoring): the same versions as the
// images the operator runs (statsd-exporter: the gunicorn sidecar, src/controllers/bench/statsd.ts;
// redis_exporter: the operator's defaultRedisExporterImage), `go install`ed from the module proxy.
// The proxy serves statsd_exporter v0.31.0 as its newest version; it lists no versions of
// redis_exporter (403 on @v/list) but serves v1.62.0 when asked for it by version.
export const STATSD_EXPORTER_VERSION = 'v0.31.0';
export const REDIS_EXPORTER_VERSION = 'v1.62.0';
