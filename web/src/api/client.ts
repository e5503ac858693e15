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
  // The body as it is, with its media type (a playbook's TOML), instead of JSON.
  raw?: { contentType: string; body: string };
  // The answer's body as text (a playbook's TOML), instead of parsed JSON.
  text?: boolean;
}

export async function request<T>(method: string, path: string, body?: unknown,
                                 options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: options.text ? 'text/plain, application/json' : 'application/json' };
  let sent: string | undefined;
  if (options.raw) {
    headers['Content-Type'] = options.raw.contentType;
    sent = options.raw.body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    sent = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: sent,
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
  return (options.text ? text : data) as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, body ?? {}, options),
  put: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PUT', path, body ?? {}, options),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, body ?? {}),
  delete: <T>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
  // A text answer (a playbook's TOML).
  getText: (path: string) => request<string>('GET', path, undefined, { text: true }),
};

// A path segment or query value, encoded.
export const enc = encodeURIComponent;

// A query string from the values given (empty, null and undefined left out), with its '?'.
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

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
