// Specs that pass the schema but cannot be built (issue 9 B9, DESIGN §2 "terminal problems"):
// an `appsJSON` that does not parse in an object stored before admission checked it, a
// `podConfig.affinity` term the API server refuses, a value of the wrong type in a free-form
// field. Retrying sends the same object and fails the same way, so these are status, not
// retries: `Ready=False` with a reason naming the field (`Invalid<Field>`, e.g.
// `InvalidPodConfig`), a Warning event, and no requeue until the object changes.
//
// Two sources: the plan finds the problem itself (`InvalidSpecError`), or the API server refuses
// a child (422, or a server-side apply's typed-patch error) and `invalidSpecOutcome` maps the
// child's field back to the spec field it comes from.
import type { Stop } from '../../runtime/steps.ts';
import { stop } from '../../runtime/steps.ts';
import { refusal, TerminalError } from '../../runtime/errors.ts';

/** `spec.podConfig.affinity` → `InvalidPodConfig`; no field → `InvalidSpec`. */
export function invalidReason(field: string | undefined): string {
  const top = /^spec\.([A-Za-z0-9]+)/.exec(field ?? '')?.[1];
  return top === undefined ? 'InvalidSpec' : `Invalid${top.charAt(0).toUpperCase()}${top.slice(1)}`;
}

/** Whether a condition reason says the spec cannot be built (`invalidReason`'s reasons). */
export const isInvalidSpecReason = (reason: string): boolean => /^Invalid[A-Z]\w*$/.test(reason);

/** A spec field that cannot be built; terminal (the controller does not retry it). */
export class InvalidSpecError extends TerminalError {
  /** The field of the object's spec, e.g. `spec.appsJSON`. */
  readonly field: string;
  /** The condition reason naming it, e.g. `InvalidAppsJSON`. */
  readonly reason: string;

  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field} ${message}`, options);
    this.name = 'InvalidSpecError';
    this.field = field;
    this.reason = invalidReason(field);
  }
}

/** Where a field of a child's pod template comes from in a bench's spec. */
const POD_TEMPLATE_FIELDS: readonly (readonly [RegExp, string])[] = [
  [/template\.spec\.affinity\b/, 'spec.podConfig.affinity'],
  [/template\.spec\.tolerations\b/, 'spec.podConfig.tolerations'],
  [/template\.spec\.topologySpreadConstraints\b/, 'spec.podConfig.topologySpreadConstraints'],
  [/template\.spec\.nodeSelector\b/, 'spec.podConfig.nodeSelector'],
  [/template\.spec\.priorityClassName\b/, 'spec.podConfig.priorityClassName'],
  [/template\.spec\.serviceAccountName\b/, 'spec.podConfig.serviceAccountName'],
  [/template\.metadata\.labels\b/, 'spec.podConfig.labels'],
  [/template\.metadata\.annotations\b/, 'spec.podConfig.annotations'],
  [/template\.spec\.imagePullSecrets\b/, 'spec.imageConfig.pullSecrets'],
  [/template\.spec\.securityContext\b/, 'spec.security.podSecurityContext'],
  [
    /template\.spec\.(initContainers|containers)\[\d+\]\.securityContext\b/,
    'spec.security.securityContext',
  ],
  [/template\.spec\.(initContainers|containers)\[\d+\]\.image\b/, 'spec.imageConfig'],
];

/** The bench spec field a field of a child's pod template comes from, if it is one. */
export function benchFieldOf(childField: string): string | undefined {
  return POD_TEMPLATE_FIELDS.find(([re]) => re.test(childField))?.[1];
}

/**
 * The Stop for an error no retry fixes: an InvalidSpecError, or the API server refusing a child
 * as invalid (`fieldOf` maps the child's field to the spec field it comes from). Undefined for
 * any other error, which stays transient.
 */
export function invalidSpecOutcome(
  err: unknown,
  fieldOf: (childField: string) => string | undefined = benchFieldOf,
): Stop | undefined {
  if (err instanceof InvalidSpecError) return stop(err.reason, `${err.message}: fix the spec`);
  const refused = refusal(err);
  if (refused === undefined) return undefined;
  const named = refused.fields.map((f) => ({ ...f, spec: fieldOf(f.field) }));
  const field = named.find((f) => f.spec !== undefined)?.spec;
  const said = named.map((f) => (f.field === '' ? f.message : `${f.field}: ${f.message}`));
  return stop(
    invalidReason(field),
    `${field ?? 'the spec'} cannot be built: the API server refuses ${refused.object} (${said.join('; ')}); fix the spec`,
  );
}
