// The pinned versions of every binary the test control plane runs. One place, so moving to a new
// Kubernetes minor or patch is a one-line change: the build derives everything else (staging
// module replaces, godebug settings, version ldflags) from the tag itself.
//
// v1.34.12 is the newest 1.34 patch the Go module proxy serves for k8s.io/kubernetes together with
// its staging modules (k8s.io/*@v0.34.12); etcd 3.6 is the line kwokctl pairs with 1.34–1.36.

export const K8S_VERSION = 'v1.34.12';
export const ETCD_VERSION = 'v3.6.16';
export const KWOK_VERSION = 'v0.8.0';
