import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite/build/index';

type VegaLite = typeof import('vega-lite/build/index');
// A variable, so that the type checker (CommonJS resolution, blind to the
// package's `exports`) does not look the package up; the type is named above.
const VEGA_LITE = 'vega-lite';

/**
 * Renders a Vega-Lite specification to SVG in Node: Vega's headless view
 * (renderer 'none') needs no canvas or browser. Vega and Vega-Lite are ES
 * modules only, so they are imported dynamically (and only when charts are made).
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = await import('vega');
  const vegaLite = (await import(VEGA_LITE)) as VegaLite;
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes each chart as `<dir>/<name>.svg`; the files written. */
export async function writeCharts(
  dir: string,
  charts: Record<string, TopLevelSpec>,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, spec] of Object.entries(charts)) {
    const file = path.join(dir, `${name}.svg`);
    await writeFile(file, `${await renderSvg(spec)}\n`);
    written.push(file);
  }
  return written;
}
