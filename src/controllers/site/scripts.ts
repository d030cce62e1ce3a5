// STUB (replaced by the scripts branch)
export const SITE_INIT_SCRIPT = 'init';
export const SITE_MIGRATE_SCRIPT = 'migrate';
export const SITE_ADMIN_PASSWORD_SCRIPT = 'admin';
export const SITE_RESTORE_SCRIPT = 'restore';
export const SITE_DELETE_SCRIPT = 'delete';
