// js-yaml 4 ships without types (@types/js-yaml is not installed); this declares
// the part the tests use.
declare module 'js-yaml' {
  export class Type {
    constructor(
      tag: string,
      opts: { kind: 'scalar' | 'sequence' | 'mapping'; construct?: (data: unknown) => unknown },
    );
  }
  export class Schema {
    extend(types: Type[]): Schema;
  }
  export const DEFAULT_SCHEMA: Schema;
  export function load(source: string, opts?: { schema?: Schema }): unknown;
}
