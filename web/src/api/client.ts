// The console's one way to the API: fetch with the session cookie (same origin), JSON in and out,
// the session's CSRF token on every write, and the API's errors as ApiError. A 401 on any request
// but the sign-in itself means the session ended: the handler set by main.ts goes to sign-in.

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: no answer (network)
    readonly code: string, // the API's error code ("unauthenticated", …) or "network"
    message: string,
    readonly field?: string,
    readonly retryAfter?: number, // seconds, from Retry-After (429)
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken = '';
let onUnauthenticated: (() => void) | null = null;

// The session store keeps this in step with the signed-in session.
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

export interface RequestOptions {
  // A 401 is the caller's to handle (signing in, asking who is signed in): no redirect.
  expectUnauthenticated?: boolean;
}

export async function request<T>(method: string, path: string, body?: unknown,
                                 options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
  }
  const text = await response.text();
  let data: unknown = null;
  if (text && (response.headers.get('Content-Type') ?? '').includes('json')) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const err = (data as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
    const retry = Number(response.headers.get('Retry-After'));
    const error = new ApiError(response.status, err?.code ?? `http_${response.status}`,
      err?.message ?? response.statusText, err?.field, Number.isFinite(retry) && retry > 0 ? retry : undefined);
    if (response.status === 401 && !options.expectUnauthenticated) onUnauthenticated?.();
    throw error;
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, body ?? {}, options),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body ?? {}),
  delete: <T>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
};

// Every item of a paged listing (`next_cursor`), up to `maxPages` pages of 1000; `complete` is
// false when more were left.
export async function fetchAll<T>(path: string, key: string, maxPages = 20): Promise<{ items: T[]; complete: boolean }> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const url: string = `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const data: Record<string, unknown> = await api.get<Record<string, unknown>>(url);
    items.push(...((data[key] as T[] | undefined) ?? []));
    cursor = (data.next_cursor as string | null | undefined) ?? null;
    if (!cursor) return { items, complete: true };
  }
  return { items, complete: false };
}
