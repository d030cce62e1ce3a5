// vyogo.tech/v1alpha1: the public surface of the API — constants, schemas, TypeScript types and
// validators of FrappeBench, FrappeSite, SiteBackup and SiteJob. Controllers import from here.
import { createValidator } from '../validate.ts';
import { FrappeBenchDefinition } from './frappebench.ts';
import { FrappeSiteDefinition } from './frappesite.ts';
import { SiteBackupDefinition } from './sitebackup.ts';
import { SiteJobDefinition } from './sitejob.ts';

export * from './common.ts';
export * from './frappebench.ts';
export * from './frappesite.ts';
export * from './sitebackup.ts';
export * from './sitejob.ts';
export type { ValidationResult } from '../validate.ts';

/** Every kind of the group, in documentation order. */
export const KINDS = [
  FrappeBenchDefinition,
  FrappeSiteDefinition,
  SiteBackupDefinition,
  SiteJobDefinition,
] as const;

export { KIND, type KindName } from './names.ts';

export const validateFrappeBench = createValidator(FrappeBenchDefinition);
export const validateFrappeSite = createValidator(FrappeSiteDefinition);
export const validateSiteBackup = createValidator(SiteBackupDefinition);
export const validateSiteJob = createValidator(SiteJobDefinition);
