import { h, focus, replace, uid } from '../dom';
import { filtersFromQuery, queryFromFilters, QueueFilters, readScreen, Screenful } from '../queue';
import { REQUEST_STATUS_TEXT, userText } from '../text/format';
import type { ApprovalRequest, RequestPage, RequestStatus } from '../types';
import { errorBox, flashBox, heading, loading, timeElement, userLink } from './shared';
import type { View } from './view';

const STATUS_OPTIONS: [string, string][] = [
  ['pending', 'Pending'],
  ['approved', 'Approved'],
  ['rejected', 'Rejected'],
  ['cancelled', 'Cancelled'],
  ['any', 'Any status'],
];

function row(request: ApprovalRequest): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-request-id': request.id },
    h('td', {}, timeElement(request.createdAt)),
    h(
      'td',
      {},
      h(
        'a',
        { href: `#/requests/${request.id}` },
        request.requestType,
        h('span', { class: 'muted' }, ` · ${request.id.slice(0, 8)}`),
      ),
    ),
    h('td', {}, userLink(request.userId)),
    h('td', {}, request.requestedBy === null ? userText(null) : userLink(request.requestedBy)),
    h('td', {}, REQUEST_STATUS_TEXT[request.status] ?? request.status),
  );
}

function filterForm(view: View, filters: QueueFilters): HTMLFormElement {
  const statusId = uid('status');
  const typeId = uid('type');
  const typeHint = uid('type-hint');
  const userId = uid('user');
  const status = h(
    'select',
    { id: statusId, name: 'status' },
    ...STATUS_OPTIONS.map(([value, label]) =>
      h('option', { value, selected: (filters.status ?? 'any') === value }, label),
    ),
  );
  const type = h('input', {
    id: typeId,
    name: 'type',
    value: filters.requestType ?? '',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': typeHint,
  });
  const user = h('input', {
    id: userId,
    name: 'user',
    value: filters.userId ?? '',
    inputmode: 'numeric',
    autocomplete: 'off',
  });
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filters' },
    h('div', { class: 'field' }, h('label', { for: statusId }, 'Status'), status),
    h(
      'div',
      { class: 'field' },
      h('label', { for: typeId }, 'Request type'),
      type,
      h('span', { id: typeHint, class: 'hint' }, 'Exact name, such as manual_verification'),
    ),
    h('div', { class: 'field' }, h('label', { for: userId }, 'Subject user id'), user),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply filters')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = status.value;
    const next: QueueFilters = {
      status: chosen === 'any' ? undefined : (chosen as RequestStatus),
      requestType: type.value.trim() || undefined,
      userId: user.value.trim() || undefined,
    };
    view.navigate(`#/queue?${queryFromFilters(next)}`);
  });
  return form;
}

function emptyText(filters: QueueFilters): string {
  const unfiltered = !filters.requestType && !filters.userId;
  if (filters.status === 'pending' && unfiltered) {
    return 'The queue is empty: no request is waiting for a decision.';
  }
  return 'No requests match these filters.';
}

/** The approval queue: requests oldest first, filtered, a screen at a time. */
export async function queueView(view: View, query: URLSearchParams): Promise<void> {
  const filters = filtersFromQuery(query);
  const results = h('div', { class: 'results' }, loading('requests'));
  replace(
    view.main,
    heading('Approval queue'),
    flashBox(view.flash),
    h(
      'p',
      { class: 'lead' },
      'Requests oldest first. Open one to see its details and the user’s verification, and to approve or reject it.',
    ),
    filterForm(view, filters),
    results,
  );

  const fetchPage = (path: string) => view.api.get<RequestPage>(path);
  let screen: Screenful;
  try {
    screen = await readScreen(fetchPage, filters, null);
  } catch (error) {
    if (view.current()) replace(results, errorBox(error));
    return;
  }
  if (!view.current()) return;
  if (screen.items.length === 0 && screen.cursor === null) {
    replace(results, h('p', { class: 'empty' }, emptyText(filters)));
    return;
  }

  const tbody = h('tbody', {}, ...screen.items.map(row));
  const count = h('span', {});
  const scanned = h('p', { class: 'hint' });
  let shown = screen.items.length;
  let read = screen.scanned;
  const describe = () => {
    count.textContent = ` (${shown} shown)`;
    scanned.textContent = filters.requestType
      ? `Filtered here by request type: ${read} requests read, ${shown} of type ${filters.requestType}.`
      : '';
  };
  describe();
  const more = h('button', { type: 'button' }, 'Show more requests');
  const moreError = h('div', {});
  let cursor = screen.cursor;
  more.addEventListener('click', () => {
    void (async () => {
      more.disabled = true;
      moreError.replaceChildren();
      try {
        const next = await readScreen(fetchPage, filters, cursor);
        if (!view.current()) return;
        const rows = next.items.map(row);
        tbody.append(...rows);
        shown += next.items.length;
        read += next.scanned;
        cursor = next.cursor;
        describe();
        view.announce(`${next.items.length} more requests shown.`);
        const firstLink = rows[0]?.querySelector('a');
        if (cursor === null) more.remove();
        if (firstLink) firstLink.focus();
        else if (cursor === null) focus(count.closest('table') ?? view.main);
      } catch (error) {
        if (view.current()) moreError.replaceChildren(errorBox(error));
      } finally {
        more.disabled = false;
      }
    })();
  });

  replace(
    results,
    h(
      'table',
      { class: 'queue' },
      h('caption', {}, 'Requests, oldest first', count),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Filed'),
          h('th', { scope: 'col' }, 'Request'),
          h('th', { scope: 'col' }, 'Subject'),
          h('th', { scope: 'col' }, 'Filed by'),
          h('th', { scope: 'col' }, 'Status'),
        ),
      ),
      tbody,
    ),
    shown === 0 ? h('p', { class: 'empty' }, emptyText(filters)) : null,
    scanned,
    moreError,
    cursor === null ? null : h('div', { class: 'actions' }, more),
  );
}
