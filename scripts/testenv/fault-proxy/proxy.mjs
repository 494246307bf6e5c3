// Test-only HTTP reverse proxy with fault injection, put in front of Orthanc so resilience tests can make the
// DICOMweb server slow, fail, or cut a multipart response short. No dependencies; loopback only.
//   node proxy.mjs --target http://127.0.0.1:8042 --port 0 --admin-token T [--parent-pid N]
// Admin (Authorization: Bearer T):
//   POST /__admin/fault {mode, delayMs?, count?, pathPrefix?, truncateAfterBytes?}
//     mode: none | 500 | slow (delay, then forward) | truncate (forward, then close the connection mid-body)
//           | close (drop the connection without an answer) | garbage (200 with a broken multipart body)
//   GET /__admin/fault, GET|DELETE /__admin/requests
import http from 'node:http';

const MODES = new Set(['none', '500', 'slow', 'truncate', 'close', 'garbage']);

function fail(message) {
  process.stderr.write(`fault-proxy: ${message}\n`);
  process.exit(2);
}

const opts = { port: 0, target: '', adminToken: '', parentPid: 0 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[i + 1];
  if (v === undefined) fail(`missing value after ${a}`);
  if (a === '--port') opts.port = Number(v);
  else if (a === '--target') opts.target = v;
  else if (a === '--admin-token') opts.adminToken = v;
  else if (a === '--parent-pid') opts.parentPid = Number(v);
  else fail(`unknown argument ${a}`);
  i++;
}
if (!opts.target) fail('--target is required');
if (!opts.adminToken) fail('--admin-token is required');
const target = new URL(opts.target);

let fault = { mode: 'none' };
const requests = [];

function setFault(spec) {
  const { mode, delayMs = 0, count, pathPrefix, truncateAfterBytes = 4096 } = spec ?? {};
  if (!MODES.has(mode)) throw new Error(`mode must be one of ${[...MODES].join(', ')}`);
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error('delayMs must be a non-negative number');
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new Error('count must be a positive integer');
  if (!Number.isInteger(truncateAfterBytes) || truncateAfterBytes < 0) throw new Error('truncateAfterBytes must be a non-negative integer');
  fault = { mode, delayMs, remaining: count, pathPrefix, truncateAfterBytes };
}

function takeFault(path) {
  if (fault.mode === 'none' || (fault.pathPrefix && !path.startsWith(fault.pathPrefix))) return null;
  const taken = { ...fault };
  if (fault.remaining !== undefined && --fault.remaining <= 0) fault = { mode: 'none' };
  return taken;
}

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function admin(req, res, path) {
  if ((req.headers.authorization ?? '') !== `Bearer ${opts.adminToken}`) return json(res, 401, { error: 'admin token required' });
  if (req.method === 'GET' && path === '/__admin/fault') return json(res, 200, fault);
  if (req.method === 'POST' && path === '/__admin/fault') {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    try {
      setFault(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
    } catch (err) {
      return json(res, 400, { error: `bad fault spec: ${err.message}` });
    }
    return json(res, 200, fault);
  }
  if (req.method === 'GET' && path === '/__admin/requests') return json(res, 200, requests);
  if (req.method === 'DELETE' && path === '/__admin/requests') { requests.length = 0; return json(res, 200, []); }
  return json(res, 404, { error: `no admin route ${req.method} ${path}` });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname.startsWith('/__admin/')) return admin(req, res, url.pathname);
  const entry = { at: new Date().toISOString(), method: req.method, path: url.pathname, query: url.search };
  requests.push(entry);
  if (requests.length > 10000) requests.shift();

  const f = takeFault(url.pathname);
  entry.fault = f?.mode ?? 'none';
  if (f?.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
  if (f?.mode === 'close') { req.socket.destroy(); return; }
  if (f?.mode === '500') return json(res, 500, { error: 'injected fault' });
  if (f?.mode === 'garbage') {
    const text = '--x\r\nContent-Type: application/dicom\r\n\r\nDICM?not-a-dicom-file';
    res.writeHead(200, { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=x', 'Content-Length': text.length });
    return res.end(text);
  }

  const upstream = http.request({
    host: target.hostname, port: target.port, method: req.method, path: req.url,
    // The Host header passes through unchanged: Orthanc's DICOMweb plugin builds the URLs it returns from it,
    // so they point back at this proxy.
    headers: req.headers,
  }, (up) => {
    entry.status = up.statusCode;
    if (f?.mode === 'truncate') {
      // Send the upstream headers (Content-Length included, if any), then part of the body, then drop the connection.
      res.writeHead(up.statusCode, up.headers);
      let sent = 0;
      up.on('data', (chunk) => {
        if (sent >= f.truncateAfterBytes) return;
        const part = chunk.subarray(0, f.truncateAfterBytes - sent);
        sent += part.length;
        if (sent < f.truncateAfterBytes) { res.write(part); return; }
        up.pause();
        // Drop the connection only once the partial body has been flushed to the client.
        res.write(part, () => {
          res.socket?.destroy();
          up.destroy();
        });
      });
      up.on('end', () => res.socket?.end()); // upstream shorter than the limit: end without the closing chunk
      return;
    }
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (err) => {
    if (f?.mode === 'truncate') return; // we cut the upstream response ourselves
    if (!res.headersSent) json(res, 502, { error: `upstream: ${err.message}` });
    else res.destroy();
  });
  req.pipe(upstream);
});

const shutdown = () => { server.close(); server.closeAllConnections?.(); process.exit(0); };
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (opts.parentPid > 0) {
  setInterval(() => { try { process.kill(opts.parentPid, 0); } catch { shutdown(); } }, 500).unref();
}
server.on('error', (err) => fail(`cannot listen: ${err.message}`));
server.listen(opts.port, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(JSON.stringify({ event: 'listening', port, baseUrl: `http://127.0.0.1:${port}` }) + '\n');
});
