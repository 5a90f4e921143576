'use strict';
// A Serverless plugin that makes serverless-offline answer CORS as the deployed
// HTTP API does. Left alone, serverless-offline echoes any request's Origin with
// `access-control-allow-credentials: true` when the template configures no CORS,
// and echoes a disallowed Origin on non-preflight requests when it does. API
// Gateway does neither: with no CORS configured it adds no CORS headers, and
// with CORS configured it adds them only for an allowed origin (preflights are
// answered 204, with headers only for an allowed origin).
//
// serverless-offline does its CORS in a hapi `onPreResponse` extension. This
// plugin wraps every `onPreResponse` extension registered on a hapi server of
// this process: after the original ran, the CORS headers are set from
// config/cors.cjs, the same function that gives the template its
// `provider.httpApi.cors`. Nothing here runs for `serverless package`/`deploy`:
// the patch is applied by the `offline` command's hooks only.

const { createRequire } = require('node:module');
const corsConfig = require('../config/cors.cjs');

/** The response's mutable headers and status, for a normal or an error (Boom) response. */
function target(request) {
  const r = request.response;
  if (r && r.isBoom) return r.output;
  return r;
}

/** API Gateway HTTP API's CORS answer for one request, applied to the response. */
function applyApiGatewayCors(request, config) {
  const response = target(request);
  if (!response || !response.headers) return;
  for (const name of Object.keys(response.headers)) {
    if (name.toLowerCase().startsWith('access-control-')) delete response.headers[name];
  }
  const origin = request.headers.origin;
  const preflight =
    request.method === 'options' && request.headers['access-control-request-method'] !== undefined;
  if (!config) return;
  if (preflight) {
    // API Gateway answers every preflight itself when CORS is configured.
    response.statusCode = 204;
    if (request.response && request.response.isBoom) response.payload = '';
  }
  if (!origin) return;
  const any = config.allowedOrigins.includes('*');
  if (!any && !config.allowedOrigins.includes(origin)) return;
  response.headers['access-control-allow-origin'] = any && !config.allowCredentials ? '*' : origin;
  if (config.allowCredentials) response.headers['access-control-allow-credentials'] = 'true';
  if (preflight) {
    response.headers['access-control-allow-methods'] = config.allowedMethods.join(',');
    response.headers['access-control-allow-headers'] = config.allowedHeaders.join(',');
    if (config.maxAge !== undefined)
      response.headers['access-control-max-age'] = String(config.maxAge);
  }
  // access-control-expose-headers of a listed origin's answer: hapi adds it when
  // the response is sent, from the route's cors settings that serverless-offline
  // makes out of the same configuration (setting it here would double it).
}

let patched = false;

/** Wraps hapi's Server#ext, as serverless-offline resolves hapi, once per process. */
function patchHapi(config) {
  if (patched) return;
  patched = true;
  const fromOffline = createRequire(require.resolve('serverless-offline'));
  // hapi exports a factory; its servers share one prototype, reached through a
  // server that is made, never started.
  const { Server } = fromOffline('@hapi/hapi');
  const proto = Object.getPrototypeOf(Server({ autoListen: false }));
  const ext = proto.ext;
  proto.ext = function patchedExt(event, method, options) {
    if (event === 'onPreResponse' && typeof method === 'function') {
      const original = method;
      method = function apiGatewayCorsExtension(request, h) {
        const result = original.call(this, request, h);
        applyApiGatewayCors(request, config);
        return result;
      };
    }
    return ext.call(this, event, method, options);
  };
}

class OfflineApiGatewayCors {
  constructor() {
    this.hooks = {
      'before:offline:start': () => patchHapi(corsConfig()),
      'before:offline:start:init': () => patchHapi(corsConfig()),
    };
  }
}

module.exports = OfflineApiGatewayCors;
module.exports.applyApiGatewayCors = applyApiGatewayCors;
