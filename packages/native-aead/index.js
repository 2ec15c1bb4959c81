'use strict';
// The prebuilt binary for this platform (prebuilds/<platform>-<arch>/) or the one built at install (build/Release/).
module.exports = require('node-gyp-build')(__dirname);
