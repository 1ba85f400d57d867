// fetch() for the API: bearer token, one silent refresh on 401, problem+json turned into ApiError.
import { accessToken, SignedOut } from './auth.js';
import { learnServerTime } from './ui.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code || (status === 0 ? 'network' : `http_${status}`);
    this.problem = problem || {};
  }
  /** Worth retrying later: no answer, a timeout, throttling or a server fault. */
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export { SignedOut };

const TIMEOUT_MS = 30_000;

/** api('GET', '/api/v1/me') → parsed JSON. body: object (JSON), FormData or URLSearchParams.
 * `headers`: extra request headers (the outbox's Idempotency-Key). */
export async function api(method, path, body, { retried = false, timeout = TIMEOUT_MS, headers: extra = {} } = {}) {
  const token = await accessToken({ force: retried });
  const headers = { ...extra, Authorization: `Bearer ${token}`, Accept: 'application/json' };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && !(body instanceof URLSearchParams)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, signal: AbortSignal.timeout(timeout), cache: 'no-store' });
  } catch (error) {
    throw new ApiError(0, { detail: error.message, code: 'network' });
  }
  if (response.status === 401 && !retried) return api(method, path, body, { retried: true, timeout, headers: extra });
  if (response.status === 401) throw new SignedOut();
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  if (data && data.server_time) learnServerTime(data.server_time);
  return data;
}

/** An authorised image (photo thumbnails need the bearer token) as an object URL. */
export async function imageUrl(path) {
  const token = await accessToken();
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new ApiError(response.status, null);
  return URL.createObjectURL(await response.blob());
}
