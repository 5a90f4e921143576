// js-yaml 3 ships without types (it is installed as a dependency of jest-openapi);
// this declares the part the tests use.
declare module 'js-yaml' {
  export class Type {
    constructor(
      tag: string,
      opts: { kind: 'scalar' | 'sequence' | 'mapping'; construct?: (data: unknown) => unknown },
    );
  }
  export class Schema {
    static create(base: Schema, types: Type[]): Schema;
  }
  export const DEFAULT_SAFE_SCHEMA: Schema;
  export function load(source: string, opts?: { schema?: Schema }): unknown;
}
