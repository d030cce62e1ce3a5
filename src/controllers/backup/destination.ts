// Where backup sets go (API.md §2.0 Destination, §3.5), and which SiteBackup speaks for a site.
//
// - S3: `s3://<bucket>/<prefix>/<namespace>/<site>/`, the set under it `<YYYYMMDDTHHMMSSZ>/`.
// - PVC: `pvc://<claim>/<prefix or "backups">/<namespace>/<site>/` on the claim (default the
//   bench's sites PVC, whose root holds `frappe-sites/`, so sets never land inside a site).
// - A SiteBackup names its site by `siteRef` or, reference-style, by `site`: matched against the
//   namespace's FrappeSites' `spec.siteName`, then `metadata.name`; two matches are ambiguous.
// - The known destination of a site (SiteJob `backup`, the final backup of a deleted site): that
//   of its SiteBackup with the most recent success, ties broken by name.
import type { Destination, FrappeSite, SiteBackup } from '../../api/v1alpha1/index.ts';
import type { S3Access } from '../shared/agent.ts';
import { sitesClaimName } from '../shared/pod.ts';

const DEFAULT_REGION = 'us-east-1';
const DEFAULT_PVC_PREFIX = 'backups';

export type BackupTarget =
  | { type: 's3'; url: string; bucket: string; directory: string; s3: S3Access }
  | { type: 'pvc'; url: string; claimName: string; directory: string };

/** `a//b/` → `a/b`: a prefix as path segments. */
const segments = (prefix: string | undefined): string[] =>
  (prefix ?? '').split('/').filter((s) => s !== '');

/** The destination of a site's sets: `site` is the FrappeSite's name, `bench` its bench's. */
export function backupTarget(
  dest: Destination,
  namespace: string,
  site: string,
  bench: string,
): BackupTarget {
  const c = dest.config ?? {};
  if (dest.type === 's3') {
    // Admission requires a bucket for s3 (API.md §6 K4).
    const bucket = c.bucket ?? '';
    const directory = [...segments(c.prefix), namespace, site].join('/') + '/';
    return {
      type: 's3',
      url: `s3://${bucket}/${directory}`,
      bucket,
      directory,
      s3: {
        endpoint: c.endpoint,
        region: c.region === undefined || c.region === '' ? DEFAULT_REGION : c.region,
        forcePathStyle: c.forcePathStyle === true,
        credentialsSecret: c.credentialsSecret,
      },
    };
  }
  const claimName = c.claimName ?? sitesClaimName(bench);
  const prefix = segments(c.prefix);
  const directory =
    [...(prefix.length === 0 ? [DEFAULT_PVC_PREFIX] : prefix), namespace, site].join('/') + '/';
  return { type: 'pvc', url: `pvc://${claimName}/${directory}`, claimName, directory };
}

/** The site a SiteBackup names: found, missing, or ambiguous (several FrappeSites match). */
export type SiteMatch =
  { found: FrappeSite } | { missing: string } | { ambiguous: string; candidates: string[] };

/** Resolve `backup`'s `siteRef` or `site` among the FrappeSites of its namespace. */
export function matchSite(
  backup: Pick<SiteBackup, 'spec'>,
  sites: readonly FrappeSite[],
): SiteMatch {
  const ref = backup.spec.siteRef?.name;
  if (ref !== undefined) {
    const site = sites.find((s) => s.metadata.name === ref);
    return site === undefined ? { missing: ref } : { found: site };
  }
  const wanted = backup.spec.site ?? '';
  const bySiteName = sites.filter((s) => s.spec.siteName === wanted);
  if (bySiteName.length > 1) {
    return {
      ambiguous: wanted,
      candidates: bySiteName.map((s) => s.metadata.name ?? '').sort(),
    };
  }
  const site = bySiteName[0] ?? sites.find((s) => s.metadata.name === wanted);
  return site === undefined ? { missing: wanted } : { found: site };
}

/**
 * The SiteBackup whose destination is the site's known destination: among the SiteBackups that
 * resolved to FrappeSite `site` (`status.site`) and have a destination, the one with the most
 * recent successful backup; ties by name. Undefined when none has succeeded yet.
 */
export function knownDestination(
  backups: readonly SiteBackup[],
  site: string,
): (SiteBackup & { spec: { destination: Destination } }) | undefined {
  let best: (SiteBackup & { spec: { destination: Destination } }) | undefined;
  for (const b of backups) {
    const at = b.status?.lastSuccessfulBackup;
    const destination = b.spec.destination;
    if (b.status?.site !== site || at === undefined || destination === undefined) continue;
    const bestAt = best?.status?.lastSuccessfulBackup ?? '';
    if (
      best === undefined ||
      at > bestAt ||
      (at === bestAt && (b.metadata.name ?? '') < (best.metadata.name ?? ''))
    ) {
      best = { ...b, spec: { ...b.spec, destination } };
    }
  }
  return best;
}
