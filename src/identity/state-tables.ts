/**
 * Column lists of the state tables that outlive a run (see identity-tables.ts for what
 * each holds). Created when missing; a run only ever adds or replaces rows.
 */
import type { Column } from '../warehouse';

const s = (name: string): Column => ({ name, type: 'string' });
const i = (name: string): Column => ({ name, type: 'integer' });
const t = (name: string): Column => ({ name, type: 'timestamp' });

export const registryColumns: Column[] = [s('identifier_type'), s('identifier_value'), s('profile_id'), s('component_key'), t('first_seen'), t('last_seen'), s('sources')];
export const profileIdColumns: Column[] = [s('profile_id'), i('created_run'), t('first_seen')];
export const edgeColumns: Column[] = [s('a_type'), s('a_value'), s('b_type'), s('b_value'), s('source'), i('source_priority'), t('first_seen'), t('last_seen')];
export const blockedColumns: Column[] = [s('identifier_type'), s('identifier_value'), s('source'), s('reason'), i('occurrences'), t('first_seen'), t('last_seen')];
export const limitRejectionColumns: Column[] = [s('a_type'), s('a_value'), s('b_type'), s('b_value'), s('sources'), s('reason'), t('first_seen')];
export const watermarkColumns: Column[] = [s('source'), t('max_seen')];
export const runColumns: Column[] = [i('run'), s('mode'), t('started_at')];
export const mergeColumns: Column[] = [i('run'), t('merged_at'), s('kind'), s('from_profile_id'), s('to_profile_id'), i('identifiers')];
