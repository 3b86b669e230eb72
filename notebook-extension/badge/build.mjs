// Bundles the badge and the dashboard script (each an IIFE: nothing leaks into the page's globals but what
// the code assigns itself, window.attachBadge) into dist/, which the gateway serves under /attach/static/.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';

const common = {
  bundle: true,
  format: 'iife',
  minify: true,
  sourcemap: false,
  target: ['es2019'],
  legalComments: 'eof',
  logLevel: 'warning',
};

await mkdir('dist', { recursive: true });
await build({ ...common, entryPoints: ['src/badge.js'], outfile: 'dist/badge.js' });
await build({ ...common, entryPoints: ['src/dashboard.js'], outfile: 'dist/dashboard.js' });
await copyFile('src/dashboard.css', 'dist/dashboard.css');
