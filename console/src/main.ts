import { ApiError, createApi } from './api';
import { focus, h, replace } from './dom';
import { timeText } from './text/format';
import { queryHasToken, tokenExpiry, tokenFromFragment } from './token';
import type { VerificationInfo } from './types';
import { queueView } from './views/queue';
import { requestView } from './views/request';
import { renderSignIn, SignInOptions } from './views/signIn';
import { userView } from './views/user';
import { errorBox, heading } from './views/shared';
import type { View } from './views/view';

/**
 * The staff console: one page, views chosen by the address fragment
 * (`#/queue`, `#/requests/{id}`, `#/users/{id}`), the token in this tab's
 * sessionStorage only.
 */

const TOKEN_KEY = 'verification-console.token';
const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const session = document.getElementById('session') as HTMLElement;
const announcer = document.getElementById('announcer') as HTMLElement;
const warnings = document.getElementById('warnings') as HTMLElement;

const storage = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

// The token leaves the address before anything else runs: no later request,
// history entry or copied link carries it.
const fromFragment = tokenFromFragment(location.hash);
if (fromFragment) {
  storage.set(fromFragment);
  history.replaceState(null, '', location.pathname + location.search);
}
if (queryHasToken(location.search)) {
  const query = new URLSearchParams(location.search);
  query.delete('token');
  const rest = query.toString();
  history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
  replace(
    warnings,
    h(
      'div',
      { class: 'notice warning', role: 'alert' },
      h(
        'p',
        {},
        'A token was given in the query string, so it was sent to the server and may be in its logs. It was not used; treat it as exposed. Put a token after # instead.',
      ),
    ),
  );
}

let me: number | undefined;
/** Why the sign-in view shows, when it does. */
let signInReason: SignInOptions['reason'] = 'start';
let generation = 0;
let pendingFlash: string | undefined;
let queueHash = '#/queue';
/** True after the first view: only later changes of view move the focus. */
let moved = false;

function endSession(reason: SignInOptions['reason']): void {
  storage.clear();
  me = undefined;
  signInReason = reason;
  void render();
}

const api = createApi({
  // The folder the console is served from is the API's root (`/console` -> `/`).
  base: new URL('.', location.href),
  token: storage.get,
  onUnauthorized: () => {
    // A token that worked and no longer does; a token being tried is answered in its form.
    if (me !== undefined) endSession('expired');
  },
});

function announce(text: string): void {
  // Emptied first, so that the same message twice is read twice.
  announcer.textContent = '';
  window.setTimeout(() => (announcer.textContent = text), 50);
}

function navigate(hash: string, flash?: string): void {
  pendingFlash = flash;
  if (flash) announce(flash);
  if (location.hash === hash) void render();
  else location.hash = hash;
}

function renderSession(): void {
  const token = storage.get();
  if (!token || me === undefined) {
    nav.hidden = true;
    replace(session);
    return;
  }
  nav.hidden = false;
  // The section the view belongs to: a request is part of the queue.
  const section = location.hash.startsWith('#/users') ? '#/users' : '#/queue';
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const expiry = tokenExpiry(token);
  const signOut = h('button', { type: 'button', class: 'link' }, 'Sign out');
  signOut.addEventListener('click', () => endSession('signed_out'));
  replace(
    session,
    h(
      'p',
      {},
      `Signed in as user ${me}`,
      expiry ? ` · token valid until ${timeText(new Date(expiry).toISOString())}` : '',
    ),
    signOut,
  );
}

async function signIn(token: string): Promise<void> {
  storage.set(token);
  try {
    const info = await api.get<VerificationInfo>('users/me/verification');
    me = info.userId;
  } catch (error) {
    storage.clear();
    throw error;
  }
  signInReason = 'start';
  moved = true;
  await render();
}

/** Renders the view the address names (or the sign-in view). */
async function render(): Promise<void> {
  const mine = ++generation;
  const current = () => mine === generation;
  const flash = pendingFlash;
  pendingFlash = undefined;
  const token = storage.get();

  if (token && me === undefined) {
    replace(main, h('p', { class: 'loading' }, 'Checking your token…'));
    try {
      me = (await api.get<VerificationInfo>('users/me/verification')).userId;
    } catch (error) {
      if (!current()) return;
      if (error instanceof ApiError && error.failure.status === 401) {
        storage.clear();
        focus(renderSignIn(main, { reason: 'start', signIn, error }));
      } else {
        // The service did not answer: the token may be fine, so it stays.
        const retry = h('button', { type: 'button' }, 'Try again');
        retry.addEventListener('click', () => void render());
        replace(
          main,
          heading('Staff console'),
          errorBox(error),
          h('div', { class: 'actions' }, retry),
        );
      }
      moved = true;
      return;
    }
    if (!current()) return;
  }
  renderSession();
  if (!storage.get() || me === undefined) {
    const target = renderSignIn(main, { reason: signInReason, signIn });
    if (moved || signInReason !== 'start') focus(target);
    moved = true;
    return;
  }

  const view: View = {
    main,
    api,
    me,
    flash,
    navigate,
    announce,
    current,
    queueHash,
  };
  const [path = '', queryText = ''] = location.hash.replace(/^#/, '').split('?');
  const query = new URLSearchParams(queryText);
  const parts = path.split('/').filter(Boolean);
  const shouldFocus = moved;
  moved = true;

  let rendering: Promise<void>;
  if (parts.length === 0 || (parts[0] === 'queue' && parts.length === 1)) {
    queueHash = location.hash || '#/queue';
    view.queueHash = queueHash;
    rendering = queueView(view, query);
  } else if (parts[0] === 'requests' && parts.length === 2) {
    rendering = requestView(view, decodeURIComponent(parts[1] as string));
  } else if (parts[0] === 'users' && parts.length <= 2) {
    rendering = userView(
      view,
      parts[1] === undefined ? undefined : decodeURIComponent(parts[1]),
      query,
    );
  } else {
    replace(
      main,
      heading('Page not found'),
      h(
        'p',
        {},
        'The console has no such view. ',
        h('a', { href: '#/queue' }, 'Go to the queue'),
        '.',
      ),
    );
    rendering = Promise.resolve();
  }
  // The heading is in place at once; move focus there, so that a screen
  // reader starts reading the new view and Tab continues from it.
  const title = main.querySelector('h1');
  if (shouldFocus && title) title.focus();
  await rendering;
}

document.getElementById('skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  focus(main.querySelector('h1') ?? main);
});
window.addEventListener('hashchange', () => void render());
void render();
