// vyogo.tech/v1alpha1: the public surface of the API — constants, schemas, TypeScript types and
// validators of FrappeBench, FrappeSite, SiteBackup and SiteJob. Controllers import from here.
import { createValidator } from '../validate.ts';
import { FrappeBenchDefinition } from './frappebench.ts';

export * from './common.ts';
export * from './frappebench.ts';
export type { ValidationResult } from '../validate.ts';

/** Every kind of the group, in documentation order. */
export const KINDS = [FrappeBenchDefinition] as const;

export const validateFrappeBench = createValidator(FrappeBenchDefinition);
