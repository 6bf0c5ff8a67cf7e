// The API client: the token (this tab's sessionStorage), fetch with it, errors.

import { LANG, PAGE, t } from './dom.js';

export const TOKEN_KEY = 'puente.token';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const token = () => sessionStorage.getItem(TOKEN_KEY);

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.replace('/');
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || t('console-js-error'));
    this.status = status;
    this.body = body;
    this.code = body && body.error && body.error.code;
  }
}

// Server time minus this device's time, when the device's clock is clearly off.
export let skew = 0;

export async function api(method, path, body, extra) {
  const headers = Object.assign({ Authorization: 'Bearer ' + token(), 'Accept-Language': LANG }, extra || {});
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch('/api/v1' + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const date = Date.parse(res.headers.get('Date') || '');
  if (!Number.isNaN(date)) {
    const d = date - Date.now();
    skew = Math.abs(d) > 2000 ? d : 0;
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    data = null;
  }
  if (res.status === 401 && PAGE !== 'signin') signOut();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
