// Static S3 credentials from the keys of a credentials Secret (API.md §2.0 Destination):
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY required, AWS_SESSION_TOKEN optional. A trailing
// newline (a Secret made with `echo`) is not part of a value, and an empty value counts as
// missing. The agent reads the keys from its mounted files (client.ts), the operator's retention
// from the Secret object (controllers/backup/retention.ts). Pure: no SDK, no I/O of its own.
import { AgentError } from './errors.ts';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What is wrong with key `key`: absent, or present but empty. */
export type MissingKey = (key: string, empty: boolean) => string;

/**
 * The credentials `read` gives (a key's text, or undefined when the key is absent); a required
 * key absent or empty is an AgentError `CredentialsNotFound` with `missing`'s message.
 */
export async function credentialsFrom(
  read: (key: string) => Promise<string | undefined>,
  missing: MissingKey,
): Promise<StaticCredentials> {
  const value = async (key: string, required: boolean): Promise<string | undefined> => {
    const text = await read(key);
    const v = text?.replace(/\r?\n$/, '');
    if (v !== undefined && v.trim() !== '') return v;
    if (required) throw new AgentError('CredentialsNotFound', missing(key, v !== undefined));
    return undefined;
  };
  const accessKeyId = (await value('AWS_ACCESS_KEY_ID', true)) ?? '';
  const secretAccessKey = (await value('AWS_SECRET_ACCESS_KEY', true)) ?? '';
  const sessionToken = await value('AWS_SESSION_TOKEN', false);
  return sessionToken === undefined
    ? { accessKeyId, secretAccessKey }
    : { accessKeyId, secretAccessKey, sessionToken };
}
