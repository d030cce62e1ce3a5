// The API server's two timestamp formats, as apimachinery writes them.

/** metav1.Time (conditions, creationTimestamp): RFC 3339 in UTC with whole seconds. */
export const toMetaTime = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** metav1.MicroTime (Lease renewTime, Event eventTime): RFC 3339 in UTC, six fractional digits. */
export const toMicroTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
