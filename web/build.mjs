// Builds the dashboard: copies src/ to the output directory (dist/ by default, or the
// directory given as the first argument) and vendors MQTT.js's browser build
// (node_modules/mqtt/dist/mqtt.esm.js, installed by `npm ci` from package-lock.json) into
// vendor/. No network, no CDN, no transpiling: the sources are plain ES modules.

import {cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
const mqtt_dir = join(here, 'node_modules', 'mqtt');
const mqtt_esm = join(mqtt_dir, 'dist', 'mqtt.esm.js');

if (!existsSync(mqtt_esm)) {
    console.error(`build: ${mqtt_esm} is missing: run "npm ci" in ${here} first`);
    process.exit(1);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'vendor'), { recursive: true });
cpSync(join(here, 'src'), out, { recursive: true });
cpSync(mqtt_esm, join(out, 'vendor', 'mqtt.esm.js'));
cpSync(join(mqtt_dir, 'LICENSE.md'), join(out, 'vendor', 'mqtt.LICENSE.md'));
const version = JSON.parse(readFileSync(join(mqtt_dir, 'package.json'), 'utf8')).version;
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
writeFileSync(
    join(out, 'build.json'),
    `${JSON.stringify({ dashboard: pkg.version, mqtt: version }, null, 2)}\n`);
console.log(`build: dashboard ${pkg.version} with MQTT.js ${version} in ${out}`);
