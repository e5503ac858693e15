// An error from the API as an operator reads it: a refused role (403) says so, an endpoint the
// server does not have yet (404 "no such endpoint", 405) says the server does not offer it, and
// everything else is the server's own message (its words, shown as text).
import { i18n } from '@/i18n';
import { ApiError } from './client';

export function isMissingEndpoint(e: unknown): boolean {
  return e instanceof ApiError &&
    (e.status === 405 || e.code === 'method_not_allowed' || (e.status === 404 && e.message === 'no such endpoint'));
}

export function describeError(e: unknown): string {
  const t = i18n.global.t;
  if (e instanceof ApiError) {
    if (e.status === 0) return t('common.network');
    if (e.status === 403) return t('common.forbidden', { message: e.message });
    if (isMissingEndpoint(e)) return t('common.notAvailable', { status: e.status, message: e.message });
    if (e.status === 409) return t('common.conflict', { message: e.message });
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
