/**
 * `console-asset:<file>` imports: files of console/ embedded in the bundle as
 * text by the esbuild plugin in deploy/esbuild-plugins.cjs (a `.ts` file is
 * bundled for browsers first).
 */
declare module 'console-asset:*' {
  const text: string;
  export default text;
}
