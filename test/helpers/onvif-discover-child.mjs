// Runs the `onvif` npm client's WS-Discovery probe (a client not written here) and prints
// what it found as one JSON line. Started inside a test's network namespace, where `lo`
// carries multicast: `node onvif-discover-child.mjs TIMEOUT_MS`.
import onvif from 'onvif'; // CommonJS: the default import is the module object

const timeout = Number(process.argv[2] ?? 3000);
onvif.Discovery.on('error', (err) => process.stderr.write(`discovery error: ${String(err)}\n`));
onvif.Discovery.probe({ device: 'lo', timeout }, (err, cams) => {
  if (err && !cams?.length) {
    process.stderr.write(`probe failed: ${String(err)}\n`);
    process.exit(1);
  }
  const found = cams.map((c) => ({ hostname: c.hostname, port: Number(c.port), path: c.path, urn: c.urn }));
  process.stdout.write(JSON.stringify(found) + '\n');
});
