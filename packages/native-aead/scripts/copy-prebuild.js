'use strict';
// Copies the addon just built into prebuilds/<platform>-<arch>/, where node-gyp-build finds it before it would build:
// the published package then installs without a compiler on this platform (Node-API: one binary for every Node >= 20).
const { copyFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');
const dir = join(__dirname, '..', 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(dir, { recursive: true });
copyFileSync(join(__dirname, '..', 'build', 'Release', 'hopsafe_aead.node'), join(dir, 'node.napi.node'));
console.log(`prebuild: ${dir}/node.napi.node`);
