// Sign in: an access token (from `hubkeep token create`) becomes a session
// cookie; the token itself is not kept by the page.

import { signIn } from './api.js';
import { h, fill, errorBox } from './ui.js';

export function signInPage(ctx) {
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false', 'aria-describedby': 'token-help',
  });
  const errorSlot = h('div', { id: 'signin-error' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Sign in'),
    h('p', {}, h('label', { for: 'token' }, 'Access token')),
    h('p', {}, input),
    h('p', { id: 'token-help', class: 'muted' }, 'A token from ', h('code', {}, 'hubkeep token create NAME'), '. Its role decides what you may do here.'),
    errorSlot,
    h('p', {}, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorSlot.replaceChildren();
    const token = input.value.trim();
    if (!token) {
      errorSlot.append(errorBox('Enter an access token.'));
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      const session = await signIn(token);
      input.value = '';
      ctx.onSignedIn(session);
    } catch (err) {
      const words = err.status === 401 ? `Sign-in refused: ${err.message}` : err.message;
      errorSlot.append(errorBox(words));
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  fill(ctx.main, form);
  input.focus();
}
