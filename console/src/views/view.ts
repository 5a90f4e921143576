import type { Api } from '../api';

/** What a view gets: where to render, who is signed in, and how to move on. */
export interface View {
  main: HTMLElement;
  api: Api;
  /** The signed-in user's id. */
  me: number;
  /** A message from the action that led here, shown once at the top. */
  flash: string | undefined;
  /** Goes to another view (`#/...`), with a message for it. */
  navigate(hash: string, flash?: string): void;
  /** Says something to screen readers (a polite live region). */
  announce(text: string): void;
  /** False once the user has moved on: answers that arrive later are dropped. */
  current(): boolean;
  /** The queue's address as last seen, to return to after a decision. */
  queueHash: string;
}
