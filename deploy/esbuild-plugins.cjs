'use strict';
// esbuild plugins for serverless-esbuild (custom.esbuild.plugins in serverless.yml).
//
// console-assets: `import text from 'console-asset:<file>'` embeds a file of
// console/ in the importing bundle as a string. A `.ts` file is first bundled
// for browsers (an ES module, minified), so the staff console's TypeScript is
// compiled by the same build that packages the functions: nothing to run by hand.
// Only functions/console.ts imports these; the other bundles are unchanged.

const fs = require('node:fs/promises');
const path = require('node:path');
const esbuild = require('esbuild');

const CONSOLE_DIR = path.resolve(__dirname, '..', 'console');
const PREFIX = 'console-asset:';
/** Browsers the console supports: the two latest years of evergreen browsers. */
const BROWSERS = ['chrome120', 'edge120', 'firefox121', 'safari17'];

/** @type {import('esbuild').Plugin} */
const consoleAssets = {
  name: 'console-assets',
  setup(build) {
    build.onResolve({ filter: /^console-asset:/ }, (args) => {
      const file = path.resolve(CONSOLE_DIR, args.path.slice(PREFIX.length));
      if (!file.startsWith(CONSOLE_DIR + path.sep)) {
        return { errors: [{ text: `${args.path} is outside console/` }] };
      }
      return { path: file, namespace: 'console-asset' };
    });
    build.onLoad({ filter: /.*/, namespace: 'console-asset' }, async (args) => {
      if (args.path.endsWith('.ts')) {
        let result;
        try {
          result = await esbuild.build({
            entryPoints: [args.path],
            bundle: true,
            format: 'esm',
            platform: 'browser',
            target: BROWSERS,
            minify: true,
            legalComments: 'none',
            write: false,
            metafile: true,
            logLevel: 'silent',
          });
        } catch (err) {
          // The browser code's own errors (file, line), reported by the outer build.
          if (Array.isArray(err.errors)) return { errors: err.errors };
          throw err;
        }
        return {
          contents: result.outputFiles[0].text,
          loader: 'text',
          watchFiles: Object.keys(result.metafile.inputs).map((f) => path.resolve(f)),
        };
      }
      const source = await fs.readFile(args.path, 'utf8');
      const contents = args.path.endsWith('.css')
        ? (await esbuild.transform(source, { loader: 'css', minify: true, target: BROWSERS })).code
        : source;
      return { contents, loader: 'text', watchFiles: [args.path] };
    });
  },
};

module.exports = [consoleAssets];
