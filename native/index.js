// Loads the compiled addon (build/Release/devise_native.node); throws with the build hint when it is missing.
'use strict';
const path = require('node:path');
try {
  module.exports = require(path.join(__dirname, 'build', 'Release', 'devise_native.node'));
} catch (err) {
  const e = new Error(`devise-native is not built (${err.message.split('\n')[0]}): install libdnnl-dev and run \`npm rebuild devise-native\``);
  e.code = 'DEVISE_NATIVE_NOT_BUILT';
  throw e;
}
