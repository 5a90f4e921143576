import { createHash } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * The staff console as HTTP answers: the page at GET /console and its assets
 * at GET /console/{asset}. Pure: the handler passes the files (embedded in its
 * bundle), so tests can pass their own.
 *
 * Assets are named by their content (`app.3f2b8c1e0a93.js`), so a browser may
 * keep them for a year: a new build changes the names the page refers to. The
 * page itself is never stored, by a browser or any cache in between, because
 * it is what a token arrives with (in its fragment).
 */

export interface ConsoleFiles {
  /** The page, referring to assets as `{{app.js}}`, `{{app.css}}`, `{{icon.svg}}`. */
  html: string;
  /** The browser script, bundled (an ES module). */
  js: string;
  css: string;
  icon: string;
}

type Response = APIGatewayProxyStructuredResultV2 & { headers: Record<string, string> };

/**
 * No inline script or style, no plugins, no framing; scripts, styles, images
 * and API calls only from this origin; no HTML strings turned into DOM.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Headers on every answer of the console (the page, its assets and its 404s). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const PAGE_CACHE_CONTROL = 'no-store';
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

interface Asset {
  name: string;
  contentType: string;
  body: string;
}

/** `app.js` -> `app.<12 hex digits of its SHA-256>.js`. */
function hashedName(name: string, body: string): string {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const dot = name.lastIndexOf('.');
  return `${name.slice(0, dot)}.${hash}${name.slice(dot)}`;
}

export interface ConsoleSite {
  /** The answer to GET /console. */
  page(): Response;
  /** The answer to GET /console/{asset}. */
  asset(name: string | undefined): Response;
  /** The content-hashed asset names, by their plain name (`app.js`). */
  assetNames: Readonly<Record<string, string>>;
}

/** Builds the console's answers once (per container) from its files. */
export function consoleSite(files: ConsoleFiles): ConsoleSite {
  const sources: [string, string, string][] = [
    ['app.js', 'text/javascript; charset=utf-8', files.js],
    ['app.css', 'text/css; charset=utf-8', files.css],
    ['icon.svg', 'image/svg+xml', files.icon],
  ];
  const assets = new Map<string, Asset>();
  const names: Record<string, string> = {};
  for (const [name, contentType, body] of sources) {
    const hashed = hashedName(name, body);
    names[name] = hashed;
    assets.set(hashed, { name: hashed, contentType, body });
  }
  // Relative URLs: the page at /console finds its assets under /console/,
  // whatever prefix a custom domain's mapping puts in front.
  const html = files.html.replace(/\{\{([a-z]+\.[a-z]+)\}\}/g, (placeholder, name: string) => {
    const hashed = names[name];
    if (!hashed) throw new Error(`console page refers to an unknown asset ${placeholder}`);
    return `console/${hashed}`;
  });

  const notFound = (): Response => ({
    statusCode: 404,
    headers: {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
    },
    body: JSON.stringify({
      error: { code: 'not_found', message: 'The console has no such file' },
    }),
  });

  return {
    assetNames: names,
    page: () => ({
      statusCode: 200,
      headers: {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': PAGE_CACHE_CONTROL,
      },
      body: html,
    }),
    asset: (name) => {
      const asset = name === undefined ? undefined : assets.get(name);
      if (!asset) return notFound();
      return {
        statusCode: 200,
        headers: {
          ...SECURITY_HEADERS,
          'Content-Type': asset.contentType,
          'Cache-Control': ASSET_CACHE_CONTROL,
        },
        body: asset.body,
      };
    },
  };
}
