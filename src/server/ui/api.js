// The UI's one door to the REST API: every call carries the user's token (sessionStorage,
// this tab only) and every failure becomes an ApiError with the API's message, hint and
// field issues — never a thrown network error or an unparsed body.

const TOKEN_KEY = 'cdp.token';

export class ApiError extends Error {
  constructor(status, message, issues, hint) {
    super(message);
    this.status = status;
    this.issues = issues || [];
    this.hint = hint;
  }
}

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (token) => sessionStorage.setItem(TOKEN_KEY, token);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

export async function api(method, path, body, token = getToken()) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The API cannot be reached. Is `cdp serve` running?');
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && data.message) || `HTTP ${response.status}`;
    throw new ApiError(response.status, message, data && data.issues, data && data.hint);
  }
  return data;
}

/** `/segments/a%20b` from parts; every part is encoded. */
export const path = (...parts) => '/' + parts.map((p) => encodeURIComponent(p)).join('/');

/** Follows a job until it finishes (or 10 minutes pass); `onStatus` sees each state. */
export async function followJob(job, onStatus = () => undefined) {
  const deadline = Date.now() + 10 * 60 * 1000;
  while ((job.status === 'queued' || job.status === 'running') && Date.now() < deadline) {
    onStatus(job);
    await new Promise((resolve) => setTimeout(resolve, 300));
    job = await api('GET', path('jobs', job.id));
  }
  return job;
}
