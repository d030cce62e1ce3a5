// Annotations the operator puts on the Jobs it creates and reads back once they have finished.

/** The image a Job runs (bench-init: the image it initialised; a site Job: migratedImage). */
export const IMAGE_ANNOTATION = 'vyogo.tech/image';
/** The operation a SiteJob's Job runs (the site controller reads `migrate` ones back). */
export const JOB_TYPE_ANNOTATION = 'vyogo.tech/job-type';
