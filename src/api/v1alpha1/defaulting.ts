// The schema defaults of our kinds for the running operator: the defaulting schemas that
// `npm run generate` extracts from the CRD schemas (defaulting.json), without the schema library.
import { createDefaulter } from '../defaults.ts';
import type { FrappeBench } from './frappebench.ts';
import type { FrappeSite } from './frappesite.ts';
import type { SiteBackup } from './sitebackup.ts';
import type { SiteJob } from './sitejob.ts';
import { KIND } from './names.ts';
import schemas from './defaulting.json' with { type: 'json' };

export const FrappeBenchDefaults = createDefaulter<FrappeBench>(
  KIND.FrappeBench,
  schemas.FrappeBench,
);

export const FrappeSiteDefaults = createDefaulter<FrappeSite>(KIND.FrappeSite, schemas.FrappeSite);

export const SiteJobDefaults = createDefaulter<SiteJob>(KIND.SiteJob, schemas.SiteJob);

export const SiteBackupDefaults = createDefaulter<SiteBackup>(KIND.SiteBackup, schemas.SiteBackup);
