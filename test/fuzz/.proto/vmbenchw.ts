import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
const w = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(new URL('./vmbench.ts', import.meta.url).href)}); });`, { eval: true });
