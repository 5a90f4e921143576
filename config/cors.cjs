'use strict';
// CORS for the HTTP API (serverless.yml: provider.httpApi.cors), from
// CORS_ALLOWED_ORIGINS: a comma-separated list of origins, or `*`. Unset means no
// CORS headers at all (browsers on other origins are refused), which is the safe
// default for a deployed stage.
module.exports = () => {
  const origins = (process.env.CORS_ALLOWED_ORIGINS || '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.length === 0) return false;
  return {
    allowedOrigins: origins,
    allowedHeaders: ['Content-Type', 'Authorization'],
    allowedMethods: ['GET', 'POST', 'OPTIONS'],
    exposedResponseHeaders: ['Retry-After'],
    maxAge: 600,
  };
};
