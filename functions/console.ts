import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { consoleSite } from '../lib/console/site';
// Embedded at bundle time by deploy/esbuild-plugins.cjs: the browser script
// compiled from TypeScript, and the other files as text (see console-assets.d.ts).
import js from 'console-asset:src/main.ts';
import css from 'console-asset:app.css';
import html from 'console-asset:index.html';
import icon from 'console-asset:icon.svg';

const site = consoleSite({ html, js, css, icon });

/**
 * GET /console and GET /console/{asset}: the staff console, a static page that
 * calls the API from the browser. No database, no token, no settings: the page
 * carries no data, so this function reads nothing but its own bundle.
 */
export async function handler(
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const asset = event.pathParameters?.asset;
  return asset === undefined ? site.page() : site.asset(asset);
}
