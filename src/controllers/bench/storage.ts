// The sites volume (API.md §3.2): PersistentVolumeClaim `<bench>-sites`. It has no
// ownerReference, so deleting the bench never garbage-collects the sites: the finalizer deletes
// it only under `storageRetentionPolicy: Delete`, and a bench of the same name adopts it.
//
// The claim also records what bench-init last wrote onto the volume (annotations
// `vyogo.tech/initialized-inputs` and `-image`): the record lives as long as the files it
// describes, outlives the bench-init Job (deleted a day after it finished) and comes back with a
// retained volume, so bench-init never re-runs for inputs it already applied.
import { KINDS, type PersistentVolumeClaim } from '../shared/objects.ts';
import { sitesClaimName } from '../shared/pod.ts';
import { canonicalQuantity } from '../shared/quantity.ts';
import type { InitRecord } from './context.ts';
import { benchLabels, type BenchPlan } from './plan.ts';

export const INITIALIZED_INPUTS_ANNOTATION = 'vyogo.tech/initialized-inputs';
export const INITIALIZED_IMAGE_ANNOTATION = 'vyogo.tech/initialized-image';

/** The bench-init record on a sites claim, if any. */
export function initRecord(claim: PersistentVolumeClaim | undefined): InitRecord | undefined {
  const a = claim?.metadata.annotations;
  const image = a?.[INITIALIZED_IMAGE_ANNOTATION];
  const inputsHash = a?.[INITIALIZED_INPUTS_ANNOTATION];
  return image === undefined || inputsHash === undefined ? undefined : { image, inputsHash };
}

export function sitesClaim(plan: BenchPlan): PersistentVolumeClaim {
  const spec = plan.spec;
  const init = plan.initialized;
  return {
    ...KINDS.PersistentVolumeClaim,
    metadata: {
      name: sitesClaimName(plan.name),
      namespace: plan.namespace,
      // No component owns the volume; bench-init writes the bench files on it.
      labels: benchLabels(plan, 'bench-init'),
      ...(init === undefined
        ? {}
        : {
            annotations: {
              [INITIALIZED_INPUTS_ANNOTATION]: init.inputsHash,
              [INITIALIZED_IMAGE_ANNOTATION]: init.image,
            },
          }),
    },
    spec: {
      // Both have schema defaults, applied to the plan's spec.
      accessModes: [String(spec.storageAccessMode)],
      resources: { requests: { storage: canonicalQuantity(String(spec.storageSize)) } },
      ...(spec.storageClassName === undefined ? {} : { storageClassName: spec.storageClassName }),
    },
  };
}
