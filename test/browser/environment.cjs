'use strict';
// The Jest environment of the browser tests: Node's, plus puppeteer-core as
// the global `puppeteer`.
//
// puppeteer-core is an ES module. Node loads it here, outside the test's
// sandbox (`require` of an ES module works from Node 20.19 on); inside a test,
// Jest's own module loader would need it and its ES-module dependencies
// transformed to CommonJS first.

const { TestEnvironment } = require('jest-environment-node');

class BrowserTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.puppeteer = require('puppeteer-core');
  }
}

module.exports = BrowserTestEnvironment;
