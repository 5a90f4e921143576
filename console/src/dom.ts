/**
 * Building the page without HTML strings: every text goes in as a text node,
 * so nothing the API returns can become markup (the page's Content-Security-
 * Policy also requires Trusted Types, which forbids HTML strings outright).
 */

export type Child = Node | string | number | null | undefined | false;

type Handler = (event: Event) => void;

export interface Props {
  /** Attributes; `true` sets a boolean attribute, false/undefined leaves it out. */
  [attribute: string]: string | number | boolean | undefined | Handler | Record<string, Handler>;
}

/** An element with attributes, listeners (`on: { click }`) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'on' && typeof value === 'object') {
      for (const [type, listener] of Object.entries(value)) el.addEventListener(type, listener);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else if (value !== false && value !== undefined && typeof value !== 'function') {
      el.setAttribute(name, String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

let ids = 0;
/** A document-unique id, for label/aria-describedby pairs. */
export function uid(prefix: string): string {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A term/description list from pairs. */
export function definitions(pairs: [string, Child][]): HTMLDListElement {
  const dl = h('dl', { class: 'facts' });
  for (const [term, description] of pairs) append(dl, h('dt', {}, term), h('dd', {}, description));
  return dl;
}

/** Moves focus to an element that is not focusable by itself (a heading, a message). */
export function focus(el: HTMLElement): void {
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus();
}
