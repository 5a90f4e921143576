import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { AppError, ERRORS, ErrorCode, toHttpError } from '../../lib/errors';

/**
 * The error catalogue (lib/errors.ts) and openapi.yaml name the same codes with
 * the same statuses. openapi.yaml gives an answer's codes as an `enum` (or a
 * `const`, or examples) on `error.code`, often behind `$ref`s and `allOf`s: the
 * walk below follows all of them, so a code documented in any of these forms
 * is found.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const spec = yaml.load(readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8')) as Node;
const ERROR_SCHEMA_REF = '#/components/schemas/Error';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);

function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are expected, got ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (isNode(node) ? node[key] : undefined), spec);
}

/** What one error answer documents: its codes, and whether it has the Error shape. */
interface Found {
  codes: Set<string>;
  errorShaped: boolean;
}

function addCodesOf(codeSchema: unknown, found: Found, seen: Set<unknown>): void {
  if (!isNode(codeSchema) || seen.has(codeSchema)) return;
  seen.add(codeSchema);
  if (typeof codeSchema.$ref === 'string') addCodesOf(resolve(codeSchema.$ref), found, seen);
  for (const value of Array.isArray(codeSchema.enum) ? codeSchema.enum : []) {
    found.codes.add(String(value));
  }
  if (typeof codeSchema.const === 'string') found.codes.add(codeSchema.const);
  if (typeof codeSchema.example === 'string') found.codes.add(codeSchema.example);
}

/** An example body `{ error: { code } }` names its code. */
function addExampleCode(example: unknown, found: Found): void {
  if (isNode(example) && isNode(example.error) && typeof example.error.code === 'string') {
    found.codes.add(example.error.code);
  }
}

/** Walks a response or schema: $refs, allOf/oneOf/anyOf, properties, examples. */
function walk(node: unknown, found: Found, seen: Set<unknown>): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, found, seen);
    return;
  }
  if (!isNode(node) || seen.has(node)) return;
  seen.add(node);
  if (typeof node.$ref === 'string') {
    if (node.$ref === ERROR_SCHEMA_REF) found.errorShaped = true;
    walk(resolve(node.$ref), found, seen);
  }
  const error = isNode(node.properties) ? node.properties.error : undefined;
  if (isNode(error)) {
    const errorSchema = typeof error.$ref === 'string' ? resolve(error.$ref) : error;
    if (isNode(errorSchema) && isNode(errorSchema.properties)) {
      addCodesOf(errorSchema.properties.code, found, new Set());
    }
  }
  addExampleCode(node.example, found);
  if (isNode(node.examples)) {
    for (const example of Object.values(node.examples)) {
      addExampleCode(isNode(example) ? example.value : undefined, found);
    }
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== '$ref' && key !== 'example' && key !== 'examples') walk(value, found, seen);
  }
}

/** Every documented error answer: operation, status and what it documents. */
function documentedErrors(): { where: string; status: number; found: Found }[] {
  const answers: { where: string; status: number; found: Found }[] = [];
  for (const [route, item] of Object.entries(spec.paths as Node)) {
    if (!isNode(item)) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (!isNode(operation) || !isNode(operation.responses)) continue;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]\d\d$/.test(status)) continue;
        const found: Found = { codes: new Set(), errorShaped: false };
        walk(response, found, new Set());
        answers.push({
          where: `${method.toUpperCase()} ${route} ${status}`,
          status: +status,
          found,
        });
      }
    }
  }
  return answers;
}

describe('error catalogue and openapi.yaml', () => {
  const answers = documentedErrors();
  const documented = new Map<string, Set<number>>();
  for (const { status, found } of answers) {
    for (const code of found.codes)
      documented.set(code, (documented.get(code) ?? new Set()).add(status));
  }

  it('finds the codes of every error-shaped answer (so the walk cannot miss a form)', () => {
    expect(answers.length).toBeGreaterThan(20);
    const silent = answers.filter((a) => a.found.errorShaped && a.found.codes.size === 0);
    expect(silent.map((a) => a.where)).toEqual([]);
  });

  it('documents every catalogued code, and catalogues every documented one', () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('gives each code the status openapi.yaml documents it under', () => {
    const mismatches = [...documented].flatMap(([code, statuses]) =>
      [...statuses]
        .filter((status) => ERRORS[code as ErrorCode]?.status !== status)
        .map(
          (status) => `${code}: openapi ${status}, catalogue ${ERRORS[code as ErrorCode]?.status}`,
        ),
    );
    expect(mismatches).toEqual([]);
  });
});

describe('AppError', () => {
  it('answers with the catalogue status and default message, its details and Retry-After', () => {
    const cause = new Error('smtp refused');
    const err = new AppError('rate_limited', undefined, {
      details: { reason: 'cooldown' },
      retryAfterSeconds: 7,
      cause,
    });
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', cause });
    expect(toHttpError(err)).toEqual({
      status: 429,
      code: 'rate_limited',
      message: ERRORS.rate_limited.message,
      details: { reason: 'cooldown' },
      headers: { 'Retry-After': '7' },
    });
    expect(toHttpError(new AppError('not_found', 'No such user')).message).toBe('No such user');
  });
});
