import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

/**
 * Route parity: every httpApi route in serverless.yml is documented in
 * openapi.yaml, and every documented operation is routed, so neither can drift
 * from the other.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// CloudFormation short forms (!Sub, !Ref, ...) are not YAML a plain parser knows.
const CLOUDFORMATION_TAGS = [
  'Base64',
  'Cidr',
  'Condition',
  'Equals',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Not',
  'Or',
  'And',
  'Ref',
  'Select',
  'Split',
  'Sub',
];
const serverlessSchema = yaml.DEFAULT_SCHEMA.extend(
  CLOUDFORMATION_TAGS.flatMap((tag) =>
    (['scalar', 'sequence', 'mapping'] as const).map(
      (kind) => new yaml.Type(`!${tag}`, { kind, construct: (data) => ({ [tag]: data }) }),
    ),
  ),
);

/** `GET /users/{id}/verification`, with parameter names dropped for comparison. */
const key = (method: string, route: string) =>
  `${method.toUpperCase()} ${route.replace(/\{[^}]+\}/g, '{}')}`;

interface HttpApiEvent {
  httpApi?: string | { method?: string; path?: string };
}

function serverlessRoutes(): Map<string, string> {
  const doc = yaml.load(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), {
    schema: serverlessSchema,
  }) as { functions?: Record<string, { events?: HttpApiEvent[] } | null> };
  const routes = new Map<string, string>();
  for (const [name, fn] of Object.entries(doc.functions ?? {})) {
    for (const event of fn?.events ?? []) {
      const api = event.httpApi;
      if (api === undefined) continue;
      // `httpApi: 'GET /path'` or `httpApi: { method, path }`.
      const [method, route] =
        typeof api === 'string' ? api.trim().split(/\s+/) : [api.method, api.path];
      if (!method || !route) throw new Error(`${name}: httpApi event without method and path`);
      routes.set(key(method, route), `${method.toUpperCase()} ${route} (function ${name})`);
    }
  }
  return routes;
}

function documentedOperations(): Map<string, string> {
  const doc = yaml.load(readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8')) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const operations = new Map<string, string>();
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item).filter((m) => METHODS.includes(m))) {
      operations.set(key(method, route), `${method.toUpperCase()} ${route}`);
    }
  }
  return operations;
}

describe('serverless.yml routes and openapi.yaml operations', () => {
  const routes = serverlessRoutes();
  const operations = documentedOperations();

  it('finds routes and operations to compare', () => {
    expect(routes.size).toBeGreaterThan(0);
    expect(operations.size).toBeGreaterThan(0);
  });

  it('documents every route that serverless.yml serves', () => {
    const undocumented = [...routes].filter(([k]) => !operations.has(k)).map(([, v]) => v);
    expect(undocumented).toEqual([]);
  });

  it('routes every operation that openapi.yaml documents', () => {
    const unrouted = [...operations].filter(([k]) => !routes.has(k)).map(([, v]) => v);
    expect(unrouted).toEqual([]);
  });
});
