// Lays dist/ out as the OpenFaaS node22 template does in its image (/home/app): the template's
// index.js and package.json at the top, the function (compiled by tsc into dist/function) below it
// with the template's function/package.json, whose `main` is handler.js. `npm start` and the tests
// run dist/index.js, so they serve the handler exactly as the image's watchdog upstream does.
import { copyFileSync } from 'node:fs';

copyFileSync('template/index.js', 'dist/index.js');
copyFileSync('template/package.json', 'dist/package.json');
copyFileSync('template/function.package.json', 'dist/function/package.json');
