import { h, replace, uid } from '../dom';
import { clearFieldError, errorBox, fieldError, heading } from './shared';

export interface SignInOptions {
  /** Why the page asks: a first visit, or a token that stopped working. */
  reason: 'start' | 'expired' | 'signed_out';
  /** Stores the token and checks it with the service; throws an ApiError when refused. */
  signIn(token: string): Promise<void>;
  /** Why the last token was not accepted, shown under the form. */
  error?: unknown;
}

const REASON_TEXT = {
  start: null,
  expired:
    'Your session has ended: the service no longer accepts your token (it has expired or was revoked). Paste a new token to continue where you were.',
  signed_out: 'You have signed out. The token was removed from this tab.',
} as const;

/** The sign-in view: a token pasted into the page. Returns the element to focus. */
export function renderSignIn(main: HTMLElement, options: SignInOptions): HTMLElement {
  const fieldId = uid('token');
  const hintId = uid('token-hint');
  const errorId = uid('token-error');
  const input = h('input', {
    id: fieldId,
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': hintId,
  });
  const fieldErrorSlot = h('p', { id: errorId, class: 'field-error', hidden: true });
  const result = h('div', { class: 'result' });
  if (options.error !== undefined) result.append(errorBox(options.error));
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const reason = REASON_TEXT[options.reason];
  const title = heading('Sign in');

  const form = h(
    'form',
    { class: 'sign-in', novalidate: true },
    h('label', { for: fieldId }, 'Bearer token'),
    h(
      'p',
      { id: hintId, class: 'hint' },
      'A staff member’s token (a JWT). It is kept in this browser tab only and sent only in the Authorization header.',
    ),
    input,
    fieldErrorSlot,
    h('div', { class: 'actions' }, button),
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      clearFieldError(input, fieldErrorSlot);
      result.replaceChildren();
      const token = input.value.trim();
      if (token === '') {
        fieldError(input, fieldErrorSlot, 'Paste a token to sign in.');
        return;
      }
      button.disabled = true;
      try {
        await options.signIn(token);
      } catch (error) {
        input.value = '';
        result.replaceChildren(errorBox(error));
        input.focus();
      } finally {
        button.disabled = false;
      }
    })();
  });

  const notice = reason
    ? h(
        'div',
        { class: `notice ${options.reason === 'expired' ? 'warning' : 'success'}`, tabindex: -1 },
        h('p', {}, reason),
      )
    : null;
  replace(
    main,
    title,
    notice,
    h(
      'p',
      {},
      'Open the console with a token in the address (',
      h('code', {}, '/console#token=…'),
      ': the page takes it and removes it from the address at once), or paste one here.',
    ),
    form,
  );
  // After an expiry or a refusal, the message says what happened; the field is the next stop.
  return notice ?? (result.firstElementChild as HTMLElement | null) ?? title;
}
