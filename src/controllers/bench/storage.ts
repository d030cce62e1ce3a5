// The sites volume (API.md §3.2): PersistentVolumeClaim `<bench>-sites`. It has no
// ownerReference, so deleting the bench never garbage-collects the sites: the finalizer deletes
// it only under `storageRetentionPolicy: Delete` (and only when it carries these labels), and a
// bench of the same name adopts it.
//
// The claim records nothing about bench-init: anyone who may patch claims in the namespace could
// forge such a record, and the image the Deployments run must be the operator's choice alone.
// That record is the bench's status (plan.ts `initialized`).
import { KINDS, type PersistentVolumeClaim } from '../shared/objects.ts';
import { sitesClaimName } from '../shared/pod.ts';
import { canonicalQuantity } from '../shared/quantity.ts';
import { benchLabels, type BenchPlan } from './plan.ts';

export function sitesClaim(plan: BenchPlan): PersistentVolumeClaim {
  const spec = plan.spec;
  return {
    ...KINDS.PersistentVolumeClaim,
    metadata: {
      name: sitesClaimName(plan.name),
      namespace: plan.namespace,
      // No component owns the volume; bench-init writes the bench files on it.
      labels: benchLabels(plan, 'bench-init'),
    },
    spec: {
      // Both have schema defaults, applied to the plan's spec.
      accessModes: [String(spec.storageAccessMode)],
      resources: { requests: { storage: canonicalQuantity(String(spec.storageSize)) } },
      ...(spec.storageClassName === undefined ? {} : { storageClassName: spec.storageClassName }),
    },
  };
}
