import {
  ASSET_CACHE_CONTROL,
  CONTENT_SECURITY_POLICY,
  consoleSite,
  ConsoleFiles,
} from '../../lib/console/site';

// The console's answers, from files given here (the bundle embeds the real ones;
// test/browser/console.test.ts loads those in Chromium).

const FILES: ConsoleFiles = {
  html: '<link href="{{app.css}}"><script type="module" src="{{app.js}}"></script><link rel="icon" href="{{icon.svg}}">',
  js: 'console.log(1);',
  css: 'body{margin:0}',
  icon: '<svg xmlns="http://www.w3.org/2000/svg"/>',
};

describe('the console site', () => {
  const site = consoleSite(FILES);

  it('serves the page with content-named assets, never to be stored', () => {
    const page = site.page();
    expect(page.statusCode).toBe(200);
    expect(page.headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(page.headers['Cache-Control']).toBe('no-store');
    const names = site.assetNames;
    expect(Object.keys(names).sort()).toEqual(['app.css', 'app.js', 'icon.svg']);
    expect(names['app.js']).toMatch(/^app\.[0-9a-f]{12}\.js$/);
    expect(page.body).toBe(
      `<link href="console/${names['app.css']}"><script type="module" src="console/${names['app.js']}"></script><link rel="icon" href="console/${names['icon.svg']}">`,
    );
  });

  it('serves each asset under its name with its type, cacheable for a year', () => {
    const expected: [string, string, string][] = [
      ['app.js', 'text/javascript; charset=utf-8', FILES.js],
      ['app.css', 'text/css; charset=utf-8', FILES.css],
      ['icon.svg', 'image/svg+xml', FILES.icon],
    ];
    for (const [plain, type, body] of expected) {
      const res = site.asset(site.assetNames[plain]);
      expect({ status: res.statusCode, type: res.headers['Content-Type'], body: res.body }).toEqual(
        { status: 200, type, body },
      );
      expect(res.headers['Cache-Control']).toBe(ASSET_CACHE_CONTROL);
    }
  });

  it('answers 404 in the error shape for any other name, the plain names included', () => {
    for (const name of ['app.js', 'app.000000000000.js', '../index.html', '', undefined]) {
      const res = site.asset(name);
      expect(res.statusCode).toBe(404);
      expect(res.headers['Cache-Control']).toBe('no-store');
      expect(JSON.parse(res.body as string)).toEqual({
        error: { code: 'not_found', message: expect.any(String) },
      });
    }
  });

  it('puts the security headers on every answer', () => {
    for (const res of [site.page(), site.asset(site.assetNames['app.js']), site.asset('nope')]) {
      expect(res.headers).toMatchObject({
        'Content-Security-Policy': CONTENT_SECURITY_POLICY,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'X-Frame-Options': 'DENY',
      });
    }
  });

  it('has a policy without inline code, framing or other origins', () => {
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    for (const name of ['script-src', 'style-src', 'connect-src', 'img-src']) {
      expect(directives.get(name)).toEqual(["'self'"]);
    }
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('require-trusted-types-for')).toEqual(["'script'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|\*|https?:|data:/);
  });

  it('changes an asset name when its content changes', () => {
    const other = consoleSite({ ...FILES, js: 'console.log(2);' });
    expect(other.assetNames['app.js']).not.toBe(site.assetNames['app.js']);
    expect(other.assetNames['app.css']).toBe(site.assetNames['app.css']);
  });

  it('refuses a page that refers to an asset it does not have', () => {
    expect(() => consoleSite({ ...FILES, html: '<img src="{{logo.png}}">' })).toThrow(
      'console page refers to an unknown asset {{logo.png}}',
    );
  });
});
