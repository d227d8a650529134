// The console's only door to the server: JSON over /api/v1 with the session
// cookie. A 401 anywhere becomes Unauthorized, which the router answers with
// the login form.

export class Unauthorized extends Error {
  constructor() { super('not logged in'); this.name = 'Unauthorized'; }
}

export class APIError extends Error {
  constructor(status, message) {
    super(message || 'HTTP ' + status);
    this.name = 'APIError';
    this.status = status;
  }
}

async function request(method, path, { body, signal } = {}) {
  const init = { method, signal, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch('/api/v1' + path, init);
  if (res.status === 401) throw new Unauthorized();
  if (!res.ok) {
    let message = '';
    try {
      const j = await res.json();
      message = j && (j.error || j.message);
    } catch { /* not JSON: keep the status */ }
    throw new APIError(res.status, message);
  }
  if (res.status === 204 || res.status === 202) {
    // 202 may carry a body (where a redrive went); read it when there is one.
    const text = await res.text();
    if (!text) return null;
    try { return JSON.parse(text); } catch { return null; }
  }
  return res.json();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

const seg = encodeURIComponent;

export const api = {
  login: (token) => request('POST', '/session', { body: { token } }),
  logout: () => request('DELETE', '/session'),
  stats: (signal) => request('GET', '/stats', { signal }),
  shipments: (params, signal) => request('GET', '/shipments' + query(params), { signal }),
  shipment: (carrier, tracking, signal) => request('GET', `/shipments/${seg(carrier)}/${seg(tracking)}`, { signal }),
  deadletters: (params, signal) => request('GET', '/deadletters' + query(params), { signal }),
  deadletter: (seq, signal) => request('GET', `/deadletters/${seg(seq)}`, { signal }),
  redrive: (seq) => request('POST', `/deadletters/${seg(seq)}/redrive`),
  eventsURL: (filter) => '/api/v1/events' + query({ filter }),
};
