// The login form: the console token (WAYBILL_CONSOLE_TOKEN) is exchanged for
// an HttpOnly session cookie and never kept by the page.
import { h } from '../dom.js';
import { Unauthorized } from '../api.js';

export function renderLogin(main, login) {
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' });
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', required: true,
    autocomplete: 'current-password', spellcheck: 'false', 'aria-describedby': 'token-help login-error',
  });
  const button = h('button', { type: 'submit' }, 'Log in');
  // method=post: should the form ever submit without this script's
  // handler, the token goes in a body, never into the URL and the history.
  const form = h('form', { class: 'login', method: 'post', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Log in'),
    h('p', { id: 'token-help', class: 'help' },
      'Enter the console token: WAYBILL_CONSOLE_TOKEN, or the one `waybill run` printed at start.'),
    // A username field (hidden) lets password managers file the token.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: 'waybill console', hidden: true, tabindex: '-1', 'aria-hidden': 'true' }),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Console token'), input),
    button,
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    button.disabled = true;
    try {
      await login(input.value);
    } catch (err) {
      error.textContent = err instanceof Unauthorized
        ? 'That token is not valid. Check it and try again.'
        : 'Could not log in: ' + (err.message || err);
      input.setAttribute('aria-invalid', 'true');
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(form);
  input.focus();
}
