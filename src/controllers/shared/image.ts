// The one image-resolution rule (API.md §2.1, §7 item 7) used by every pod and Job of a bench and
// its sites: repository from `imageConfig.repository`, else from the operator's
// `defaultFrappeImage`; tag from `imageConfig.tag`, else the normalised `frappeVersion`, else the
// default image's tag.

export interface ImageSource {
  frappeVersion?: string;
  imageConfig?: { repository?: string; tag?: string };
}

/** `15` → `version-15`, `15.1.0` → `v15.1.0`, anything else verbatim. */
export function normaliseVersion(version: string): string {
  if (/^[0-9]+$/.test(version)) return `version-${version}`;
  if (/^[0-9]+\.[0-9]+\.[0-9]+$/.test(version)) return `v${version}`;
  return version;
}

/**
 * Split an image reference into repository and tag at the last ':' after the last '/', so a
 * registry port (`registry:5000/frappe`) is not mistaken for a tag. A digest reference keeps its
 * digest in `digest`.
 */
export function splitImage(image: string): { repository: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repository: image.slice(0, at), digest: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/')
    ? { repository: image.slice(0, colon), tag: image.slice(colon + 1) }
    : { repository: image };
}

/** The full image reference pods of this bench run. */
export function resolveImage(source: ImageSource, defaultImage: string): string {
  const fallback = splitImage(defaultImage);
  const repository = source.imageConfig?.repository ?? fallback.repository;
  const version = source.frappeVersion;
  const tag =
    source.imageConfig?.tag ?? (version === undefined ? undefined : normaliseVersion(version));
  if (tag !== undefined) return `${repository}:${tag}`;
  if (fallback.digest !== undefined) return `${repository}@${fallback.digest}`;
  return fallback.tag === undefined ? repository : `${repository}:${fallback.tag}`;
}
