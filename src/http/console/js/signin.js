// The sign-in page.

import { api, token, TOKEN_KEY } from './api.js';
import { $ } from './dom.js';

export async function signinPage() {
  const form = $('signin-form');
  const input = $('token');
  const error = $('signin-error');
  if (token()) {
    try {
      const me = await api('GET', '/me');
      return location.replace('/' + me.role);
    } catch (_) {
      sessionStorage.removeItem(TOKEN_KEY);
    }
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const value = input.value.trim();
    if (!value) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    try {
      const me = await api('GET', '/me');
      location.assign('/' + me.role);
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      input.setAttribute('aria-invalid', 'true');
      error.textContent = e.message;
      input.focus();
    }
  });
  input.focus();
}
