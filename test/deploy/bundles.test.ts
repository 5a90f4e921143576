import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import yaml from 'js-yaml';

// What the send and verify functions carry: built with the esbuild options
// serverless.yml gives serverless-esbuild (bundle, minify, keepNames, target,
// platform, excluded packages, plugins), and read from esbuild's metafile,
// which lists every file that went into a bundle.

const ROOT = path.resolve(__dirname, '..', '..');

const config = yaml.load(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8')) as {
  custom: {
    esbuild: {
      bundle: boolean;
      minify: boolean;
      keepNames: boolean;
      target: string;
      platform: 'node';
      exclude: string[];
      plugins: string;
    };
  };
  functions: Record<string, { handler: string }>;
};

/** The packages Sequelize brings along (its data types need them all), and Sequelize. */
const SEQUELIZE_PACKAGES = [
  'sequelize',
  'sequelize-pool',
  'moment',
  'moment-timezone',
  'lodash',
  'validator',
  'wkx',
  'inflection',
  'dottie',
  'umzug',
];

/** The bundle of a function, as its inputs (files) and the imports it leaves to run time. */
async function bundleOf(functionName: string): Promise<Metafile> {
  return (await built(functionName)).metafile;
}

/** The esbuild options serverless.yml gives serverless-esbuild, with its plugins. */
function serverlessOptions(): BuildOptions {
  const options = config.custom.esbuild;
  return {
    bundle: options.bundle,
    minify: options.minify,
    keepNames: options.keepNames,
    target: options.target,
    platform: options.platform,
    external: options.exclude,
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    plugins: require(path.join(ROOT, options.plugins)) as Plugin[],
    format: 'cjs',
    logLevel: 'silent',
  };
}

/** The bundle of a function: its metafile and its code. */
async function built(functionName: string): Promise<{ metafile: Metafile; code: string }> {
  const handler = config.functions[functionName]?.handler;
  if (!handler) throw new Error(`no function ${functionName} in serverless.yml`);
  const entry = path.join(ROOT, `${handler.slice(0, handler.lastIndexOf('.'))}.ts`);
  const result = await build({
    ...serverlessOptions(),
    entryPoints: [entry],
    write: false,
    metafile: true,
  });
  return { metafile: result.metafile, code: result.outputFiles[0]?.text ?? '' };
}

/** The npm packages whose files are in a bundle. */
function packagesIn(meta: Metafile): Set<string> {
  const names = new Set<string>();
  for (const file of Object.keys(meta.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}

/** Every import of an excluded package (the AWS SDK), with how it is made. */
function externalImports(meta: Metafile): { path: string; kind: string; from: string }[] {
  return Object.entries(meta.inputs).flatMap(([from, input]) =>
    input.imports.filter((i) => i.external).map((i) => ({ path: i.path, kind: i.kind, from })),
  );
}

describe('the send and verify bundles', () => {
  let bundles: Record<string, Metafile>;

  beforeAll(async () => {
    const names = ['issueVerificationCode', 'verifyVerificationCode', 'getMyVerification'];
    const built = await Promise.all(names.map(bundleOf));
    bundles = Object.fromEntries(names.map((n, i) => [n, built[i] as Metafile]));
  }, 60_000);

  it.each(['issueVerificationCode', 'verifyVerificationCode'])(
    '%s carries pg and none of Sequelize, moment, lodash or validator',
    (name) => {
      const packages = packagesIn(bundles[name] as Metafile);
      expect(packages).toContain('pg');
      expect(SEQUELIZE_PACKAGES.filter((p) => packages.has(p))).toEqual([]);
    },
  );

  it('a function that uses Sequelize carries it (the check finds what it looks for)', () => {
    const packages = packagesIn(bundles.getMyVerification as Metafile);
    expect(SEQUELIZE_PACKAGES.filter((p) => packages.has(p))).toEqual(
      expect.arrayContaining(['sequelize', 'moment', 'lodash', 'validator']),
    );
  });

  it.each(['issueVerificationCode', 'verifyVerificationCode'])(
    '%s loads the AWS SDK only on first use (dynamic import), never at start',
    (name) => {
      const sdk = externalImports(bundles[name] as Metafile).filter((i) =>
        i.path.startsWith('@aws-sdk/'),
      );
      // Secrets Manager and SSM (secrets), SES and SNS (delivery), EventBridge (events).
      expect(sdk.length).toBeGreaterThan(0);
      expect(sdk.filter((i) => i.kind !== 'dynamic-import')).toEqual([]);
    },
  );
});

describe('what the send bundle does at start', () => {
  let code: string;
  let dir: string;

  beforeAll(async () => {
    code = (await built('issueVerificationCode')).code;
    dir = mkdtempSync(path.join(os.tmpdir(), 'vs-bundle-'));
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("does not load node:https (jose's JWKS client) when tokens are checked with a secret", () => {
    const file = path.join(dir, 'send.js');
    writeFileSync(file, code);
    const loaded = execFileSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(file)}); console.log(process.moduleLoadList.join(' '))`],
      {
        env: {
          PATH: process.env.PATH,
          STAGE: 'dev',
          DATABASE_URL: 'postgres://u@127.0.0.1:1/x',
          AUTH_JWT_SECRET: 'x'.repeat(40),
          VERIFICATION_CODE_PEPPER: 'p'.repeat(32),
          LOG_LEVEL: 'WARN',
        },
        encoding: 'utf8',
      },
    );
    expect(loaded).toContain('NativeModule crypto');
    expect(loaded).not.toContain('NativeModule https');
  });

  it('leaves libphonenumber-js out, to be read from phone-library.js on the first phone number', () => {
    expect(code).toContain('require("./phone-library.js")');
    expect(code).not.toContain('country_calling_codes');
  });

  it('is built without keepNames, which a Sequelize function keeps', async () => {
    // esbuild's keepNames helper, `__name`, minified: (t,o)=>f(t,"name",{value:o,configurable:!0}).
    const namesKept = /=>\w+\(\w+,"name",\{value:\w+,configurable:!0\}\)/;
    expect(code).not.toMatch(namesKept);
    expect((await built('getMyVerification')).code).toMatch(namesKept);
  });
});

describe('phone-library.js', () => {
  let root: string;

  beforeAll(async () => {
    // As serverless-esbuild builds a function: a relative entry, into
    // <root>/<the entry's folder>.
    root = mkdtempSync(path.join(os.tmpdir(), 'vs-phone-'));
    await build({
      ...serverlessOptions(),
      absWorkingDir: ROOT,
      entryPoints: ['functions/verification/issueCode.ts'],
      outdir: path.join(root, 'functions', 'verification'),
    });
  }, 60_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is written at the root of the package, and the send requires it from there', () => {
    const send = readFileSync(path.join(root, 'functions', 'verification', 'issueCode.js'), 'utf8');
    expect(send).toContain('require("../../phone-library.js")');
  });

  it("carries libphonenumber-js's metadata as one JSON string, parsed on first use", () => {
    const library = readFileSync(path.join(root, 'phone-library.js'), 'utf8');
    expect(library).toMatch(/JSON\.parse\('\{"version":4,"country_calling_codes":/);
    // Not also as an object literal.
    expect(library).not.toMatch(/\{version:4,country_calling_codes:/);
  });

  it('parses and validates numbers with the max metadata', () => {
    const script = `
      const lib = require(${JSON.stringify(path.join(root, 'phone-library.js'))});
      const ok = lib.parsePhoneNumberFromString('(201) 555-0123', { defaultCountry: 'US' });
      // Assigned-looking by length, but no Chinese number starts so (max metadata knows).
      const bad = lib.parsePhoneNumberFromString('+86 123 4567 890');
      console.log(JSON.stringify([ok.number, ok.isValid(), bad.isValid(), lib.isSupportedCountry('DE')]));
    `;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['+12015550123', true, false, true]);
  });
});
