// js-yaml 3 ships without types (it is installed as a dependency of jest-openapi);
// the tests need only `load`.
declare module 'js-yaml' {
  export function load(source: string): unknown;
}
