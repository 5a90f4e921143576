'use strict';
// Which stages are production, shared by the functions (lib/settings.ts) and the
// package-time helpers (deploy/serverless.cjs). Plain CommonJS so that both load it.
// Production is the default: a stage is exempt only when it is named here or in
// NON_PRODUCTION_STAGES, so a new stage (`staging`, `prd`) gets every production rule.

/** The stages that are never production. */
const NON_PRODUCTION_STAGES = ['dev', 'local', 'test', 'ci'];

/**
 * @param {string | undefined} value a comma-separated list
 * @returns {string[]}
 */
function stageList(value) {
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * @param {string} stage
 * @param {Record<string, string | undefined>} env the environment (NON_PRODUCTION_STAGES)
 * @returns {boolean}
 */
function isProductionStage(stage, env) {
  const name = String(stage).trim().toLowerCase();
  return ![...NON_PRODUCTION_STAGES, ...stageList(env.NON_PRODUCTION_STAGES)].includes(name);
}

module.exports = { NON_PRODUCTION_STAGES, isProductionStage };
