import { ActionKey } from '../api';
import { focus, h, replace, uid } from '../dom';
import { CHANNEL_TEXT } from '../text/format';
import { Channel, EVENT_TYPES, EventPage, VerificationInfo } from '../types';
import {
  clearFieldError,
  errorBox,
  eventRows,
  eventsTable,
  fieldError,
  flashBox,
  heading,
  loading,
  verificationFacts,
} from './shared';
import type { View } from './view';

const MAX_REASON_LENGTH = 2000;
const MAX_USER_ID = 2147483647;
const EVENTS_PAGE = 20;

/** A user id as the API takes it, or undefined. */
export function parseUserId(text: string): number | undefined {
  const value = text.trim();
  if (!/^[0-9]{1,10}$/.test(value)) return undefined;
  const id = Number(value);
  return id >= 1 && id <= MAX_USER_ID ? id : undefined;
}

function lookupForm(view: View, current: string | undefined): HTMLFormElement {
  const fieldId = uid('user-id');
  const errorId = uid('user-id-error');
  const input = h('input', {
    id: fieldId,
    name: 'id',
    inputmode: 'numeric',
    autocomplete: 'off',
    value: current ?? '',
  });
  const error = h('p', { id: errorId, class: 'field-error', hidden: true });
  const form = h(
    'form',
    { class: 'lookup', role: 'search', 'aria-label': 'Look up a user', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: fieldId }, 'User id'), input, error),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Look up')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFieldError(input, error);
    const id = parseUserId(input.value);
    if (id === undefined) {
      fieldError(input, error, `A user id is a whole number from 1 to ${MAX_USER_ID}.`);
      return;
    }
    view.navigate(`#/users/${id}`);
  });
  return form;
}

function revokeForm(view: View, info: VerificationInfo): HTMLElement {
  const verified: Channel[] = [];
  if (info.isPhoneVerified) verified.push('phone');
  if (info.isEmailVerified) verified.push('email');
  if (info.userId === view.me) {
    return h(
      'p',
      { class: 'notice info' },
      'This is your own account: another member of staff must revoke its verification.',
    );
  }
  if (verified.length === 0) {
    return h('p', { class: 'empty' }, 'Neither channel is verified: there is nothing to revoke.');
  }
  const reasonId = uid('reason');
  const hintId = uid('reason-hint');
  const errorId = uid('reason-error');
  const radios = (['phone', 'email'] as Channel[]).map((channel) => {
    const id = uid(`channel-${channel}`);
    const isVerified = verified.includes(channel);
    return h(
      'div',
      { class: 'choice' },
      h('input', {
        type: 'radio',
        id,
        name: 'channel',
        value: channel,
        checked: channel === verified[0],
        disabled: !isVerified,
      }),
      h(
        'label',
        { for: id },
        `${CHANNEL_TEXT[channel]} ${isVerified ? '' : '(not verified)'}`.trim(),
      ),
    );
  });
  const reason = h('textarea', {
    id: reasonId,
    name: 'reason',
    rows: 3,
    maxlength: MAX_REASON_LENGTH,
    'aria-describedby': hintId,
  });
  const reasonError = h('p', { id: errorId, class: 'field-error', hidden: true });
  const button = h('button', { type: 'submit', class: 'danger' }, 'Revoke');
  const result = h('div', { class: 'result' });
  const key = new ActionKey();
  const form = h(
    'form',
    { class: 'revoke', novalidate: true, 'aria-labelledby': 'revoke-heading' },
    h('fieldset', {}, h('legend', {}, 'Channel'), ...radios),
    h('label', { for: reasonId }, 'Reason'),
    h(
      'p',
      { id: hintId, class: 'hint' },
      `Required, up to ${MAX_REASON_LENGTH} characters. Kept in the user’s history.`,
    ),
    reason,
    reasonError,
    h('div', { class: 'actions' }, button),
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      clearFieldError(reason, reasonError);
      result.replaceChildren();
      const channel = (form.elements.namedItem('channel') as RadioNodeList).value as Channel;
      const text = reason.value.trim();
      if (text === '') {
        fieldError(reason, reasonError, 'Write the reason for the revocation.');
        return;
      }
      const body = { channel, reason: text };
      const path = `users/${info.userId}/verification/revoke`;
      button.disabled = true;
      try {
        await view.api.post<VerificationInfo>(
          path,
          body,
          key.for(`${path} ${JSON.stringify(body)}`),
        );
        key.settle();
        view.navigate(
          `#/users/${info.userId}`,
          `${CHANNEL_TEXT[channel]} verification of user ${info.userId} revoked.`,
        );
      } catch (error) {
        key.settle(error);
        if (!view.current()) return;
        result.replaceChildren(errorBox(error));
        focus(result.firstElementChild as HTMLElement);
      } finally {
        button.disabled = false;
      }
    })();
  });
  return form;
}

function historyFilter(view: View, userId: number, type: string | undefined): HTMLFormElement {
  const selectId = uid('event-type');
  const select = h(
    'select',
    { id: selectId, name: 'type' },
    h('option', { value: '', selected: !type }, 'Every type'),
    ...EVENT_TYPES.map((t) => h('option', { value: t, selected: t === type }, t)),
  );
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'History filter' },
    h('div', { class: 'field' }, h('label', { for: selectId }, 'Event type'), select),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    view.navigate(`#/users/${userId}${select.value ? `?type=${select.value}` : ''}`);
  });
  return form;
}

async function history(view: View, section: HTMLElement, userId: number, type: string | undefined) {
  const path = (cursor: string | null) => {
    const query = new URLSearchParams({ limit: String(EVENTS_PAGE) });
    if (type) query.set('type', type);
    if (cursor) query.set('cursor', cursor);
    return `users/${userId}/verification/events?${query.toString()}`;
  };
  const body = h('div', {}, loading('the history'));
  section.append(historyFilter(view, userId, type), body);
  let page: EventPage;
  try {
    page = await view.api.get<EventPage>(path(null));
  } catch (error) {
    if (view.current()) replace(body, errorBox(error));
    return;
  }
  if (!view.current()) return;
  if (page.items.length === 0) {
    const text = type
      ? `No ${type} events are recorded for this user.`
      : 'No events are recorded for this user yet.';
    replace(body, h('p', { class: 'empty' }, text));
    return;
  }
  const table = eventsTable('Events, newest first', page.items);
  const more = h('button', { type: 'button' }, 'Show older events');
  const moreError = h('div', {});
  let cursor = page.nextCursor;
  more.addEventListener('click', () => {
    void (async () => {
      more.disabled = true;
      moreError.replaceChildren();
      try {
        const next = await view.api.get<EventPage>(path(cursor));
        if (!view.current()) return;
        const rows = eventRows(next.items);
        table.tBodies[0]?.append(...rows);
        cursor = next.nextCursor;
        view.announce(`${next.items.length} older events shown.`);
        if (cursor === null) more.remove();
        const first = rows[0]?.cells[0];
        if (first) focus(first);
      } catch (error) {
        if (view.current()) moreError.replaceChildren(errorBox(error));
      } finally {
        more.disabled = false;
      }
    })();
  });
  replace(body, table, moreError, cursor === null ? null : h('div', { class: 'actions' }, more));
}

/** Looks a user up by id: their verification, a revocation, their history. */
export async function userView(
  view: View,
  idText: string | undefined,
  query: URLSearchParams,
): Promise<void> {
  const id = idText === undefined ? undefined : parseUserId(idText);
  const title = heading(id === undefined ? 'Users' : `User ${id}`);
  replace(view.main, title, flashBox(view.flash), lookupForm(view, idText));
  if (idText === undefined) {
    view.main.append(
      h('p', { class: 'lead' }, 'Enter a user id to see their verification and history.'),
    );
    return;
  }
  if (id === undefined) {
    view.main.append(
      h('p', { class: 'notice error', role: 'alert' }, `“${idText}” is not a user id.`),
    );
    return;
  }
  const status = h('div', {}, loading('the verification'));
  view.main.append(
    h(
      'section',
      { 'aria-labelledby': 'verification-heading' },
      h('h2', { id: 'verification-heading' }, 'Verification'),
      status,
    ),
  );
  let info: VerificationInfo;
  try {
    info = await view.api.get<VerificationInfo>(`users/${id}/verification`);
  } catch (error) {
    if (view.current()) replace(status, errorBox(error));
    return;
  }
  if (!view.current()) return;
  replace(
    status,
    verificationFacts(info),
    h('p', {}, h('a', { href: `#/queue?status=any&user=${id}` }, `Requests about user ${id}`)),
  );
  const historySection = h(
    'section',
    { 'aria-labelledby': 'history-heading' },
    h('h2', { id: 'history-heading' }, 'History'),
  );
  view.main.append(
    h(
      'section',
      { 'aria-labelledby': 'revoke-heading' },
      h('h2', { id: 'revoke-heading' }, 'Revoke a verified channel'),
      revokeForm(view, info),
    ),
    historySection,
  );
  const type = query.get('type') ?? undefined;
  await history(
    view,
    historySection,
    id,
    type && (EVENT_TYPES as readonly string[]).includes(type) ? type : undefined,
  );
}
