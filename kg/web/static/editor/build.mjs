// Bundles editor.mjs (CodeMirror 6 with SPARQL) into ../vendor/editor.js.  Run by hatch_build.py
// after `npm ci` (axe-core, for the accessibility tests, stays in node_modules).
import {buildSync} from 'esbuild';
import {mkdirSync} from 'node:fs';

const here = new URL('.', import.meta.url).pathname;
mkdirSync(here + '../vendor', {recursive: true});
buildSync({entryPoints: [here + 'editor.mjs'], bundle: true, format: 'iife', globalName: 'ImrEditor',
           minify: true, legalComments: 'eof', target: 'es2020', outfile: here + '../vendor/editor.js'});
