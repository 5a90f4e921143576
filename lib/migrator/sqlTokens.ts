/**
 * A small PostgreSQL tokenizer for the plan's rules: enough to tell keywords from
 * names, strings, comments and function bodies, so that a rule never matches text
 * inside a string literal, a comment or a `$$ ... $$` body.
 */

export type TokenKind = 'word' | 'ident' | 'string' | 'number' | 'param' | 'punct';

export interface Token {
  kind: TokenKind;
  /** Words are lower-cased; quoted identifiers keep their case, without the quotes. */
  text: string;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;

/** Splits SQL into tokens, dropping whitespace and comments. Never throws. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charAt(i);
    const next = sql.charAt(i + 1);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === "'" || ((c === 'e' || c === 'E') && next === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      let text = '';
      while (i < n) {
        const ch = sql.charAt(i);
        if (escapes && ch === '\\') {
          text += sql.charAt(i + 1);
          i += 2;
        } else if (ch === "'" && sql.charAt(i + 1) === "'") {
          text += "'";
          i += 2;
        } else if (ch === "'") {
          i++;
          break;
        } else {
          text += ch;
          i++;
        }
      }
      tokens.push({ kind: 'string', text });
    } else if (c === '"') {
      i++;
      let text = '';
      while (i < n) {
        if (sql.charAt(i) === '"' && sql.charAt(i + 1) === '"') {
          text += '"';
          i += 2;
        } else if (sql.charAt(i) === '"') {
          i++;
          break;
        } else text += sql.charAt(i++);
      }
      tokens.push({ kind: 'ident', text });
    } else if (c === '$' && DIGIT.test(next)) {
      let j = i + 1;
      while (j < n && DIGIT.test(sql.charAt(j))) j++;
      tokens.push({ kind: 'param', text: sql.slice(i, j) });
      i = j;
    } else if (c === '$') {
      // A dollar-quoted string: $$ ... $$ or $tag$ ... $tag$.
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        const bodyEnd = end === -1 ? n : end;
        tokens.push({ kind: 'string', text: sql.slice(i + tag[0].length, bodyEnd) });
        i = end === -1 ? n : end + tag[0].length;
      } else {
        tokens.push({ kind: 'punct', text: c });
        i++;
      }
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql.charAt(j))) j++;
      tokens.push({ kind: 'word', text: sql.slice(i, j).toLowerCase() });
      i = j;
    } else if (DIGIT.test(c) || (c === '.' && DIGIT.test(next))) {
      const m = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(sql.slice(i));
      const text = m ? m[0] : c;
      tokens.push({ kind: 'number', text });
      i += text.length;
    } else if (c === ':' && next === ':') {
      tokens.push({ kind: 'punct', text: '::' });
      i += 2;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

/** Splits a token list into statements at top-level semicolons (empty ones dropped). */
export function splitStatements(tokens: readonly Token[]): Token[][] {
  const statements: Token[][] = [];
  let current: Token[] = [];
  for (const t of tokens) {
    if (t.kind === 'punct' && t.text === ';') {
      if (current.length > 0) statements.push(current);
      current = [];
    } else current.push(t);
  }
  if (current.length > 0) statements.push(current);
  return statements;
}

/** Splits at top-level commas (outside parentheses), e.g. the actions of an ALTER TABLE. */
export function splitTopLevel(tokens: readonly Token[], separator = ','): Token[][] {
  const parts: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'punct' && (t.text === '(' || t.text === '[')) depth++;
    if (t.kind === 'punct' && (t.text === ')' || t.text === ']')) depth--;
    if (depth === 0 && t.kind === 'punct' && t.text === separator) {
      parts.push(current);
      current = [];
    } else current.push(t);
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

/** The tokens that are not inside any parentheses. */
export function topLevel(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'punct' && t.text === '(') depth++;
    else if (t.kind === 'punct' && t.text === ')') depth--;
    else if (depth === 0) out.push(t);
  }
  return out;
}

export function isWord(t: Token | undefined, ...words: string[]): boolean {
  return t !== undefined && t.kind === 'word' && words.includes(t.text);
}

/** Whether the words appear in this order, consecutively, anywhere in `tokens`. */
export function hasSequence(tokens: readonly Token[], ...words: string[]): boolean {
  return findSequence(tokens, ...words) !== -1;
}

export function findSequence(tokens: readonly Token[], ...words: string[]): number {
  for (let i = 0; i + words.length <= tokens.length; i++) {
    if (words.every((w, k) => isWord(tokens[i + k], w))) return i;
  }
  return -1;
}

/** A possibly schema-qualified name as written: `users`, `public.users`, `"My Table"`. */
export interface QualifiedName {
  schema?: string;
  name: string;
}

/** Reads a qualified name at `start`; undefined when there is none. */
export function readName(
  tokens: readonly Token[],
  start: number,
): { name: QualifiedName; next: number } | undefined {
  const parts: string[] = [];
  let i = start;
  for (;;) {
    const t = tokens[i];
    if (!t || (t.kind !== 'word' && t.kind !== 'ident')) break;
    parts.push(t.text);
    i++;
    if (tokens[i]?.kind === 'punct' && tokens[i]?.text === '.') i++;
    else break;
  }
  if (parts.length === 0) return undefined;
  const name = parts[parts.length - 1] as string;
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  return { name: schema === undefined ? { name } : { schema, name }, next: i };
}

export function formatName(q: QualifiedName): string {
  return q.schema === undefined ? q.name : `${q.schema}.${q.name}`;
}
