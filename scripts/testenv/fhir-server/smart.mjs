// SMART App Launch 2.0 authorization-server double for the test FHIR server (test only, loopback, in memory).
//   GET  {fhir}/.well-known/smart-configuration   discovery (SMART 2.0 §2.1)
//   GET  /auth/authorize                          approves the configured test user at once and redirects with code + state
//   POST /auth/token                              authorization_code grant; PKCE S256 checked (RFC 7636 §4.6); client_secret_basic
//   POST /auth/introspect                         RFC 7662 (client_secret_basic); adds patient, fhirUser, roles
// Set up through the admin API (admin token):
//   POST /__admin/smart/clients   {client_id, client_secret, redirect_uris[]}
//   POST /__admin/smart/launch    {patient, appContext?, user?: {fhirUser, roles[]}, tokenSeconds?}  -> {launch}
//   POST /__admin/smart/user      {fhirUser, roles[], patient?}  the user a standalone launch approves
//   POST /__admin/smart/expire    {}  every issued token becomes inactive (as after its exp)
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const CODE_SECONDS = 60;
const LAUNCH_SECONDS = 300;

export function createSmart() {
  const clients = new Map(); // client_id -> {secret, redirectUris}
  const launches = new Map(); // launch -> {patient, appContext, user, tokenSeconds, expires}
  const codes = new Map(); // code -> {...}
  const tokens = new Map(); // access token -> {client, patient, user, scope, exp}
  let standaloneUser = { fhirUser: 'Practitioner/trial-coordinator', roles: [] };
  const now = () => Math.floor(Date.now() / 1000);
  const random = () => randomBytes(24).toString('base64url');

  function configuration(baseUrl) {
    const origin = new URL(baseUrl).origin;
    return {
      issuer: baseUrl,
      authorization_endpoint: `${origin}/auth/authorize`,
      token_endpoint: `${origin}/auth/token`,
      introspection_endpoint: `${origin}/auth/introspect`,
      grant_types_supported: ['authorization_code'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      scopes_supported: ['openid', 'fhirUser', 'launch', 'launch/patient', 'patient/*.rs', 'user/*.rs'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      capabilities: ['launch-ehr', 'launch-standalone', 'client-confidential-symmetric', 'context-ehr-patient', 'context-standalone-patient', 'sso-openid-connect', 'permission-v2'],
    };
  }

  function clientOf(req) {
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return null;
    const [id, secret] = Buffer.from(m[1], 'base64').toString('utf8').split(':').map(decodeURIComponent);
    const c = clients.get(id);
    if (!c) return null;
    const a = Buffer.from(secret ?? ''), b = Buffer.from(c.secret);
    return a.length === b.length && timingSafeEqual(a, b) ? id : null;
  }

  const json = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const oauthError = (res, status, error, description) => json(res, status, { error, error_description: description });

  // Answers the request when it is one of the double's; false otherwise.
  async function handle(req, res, path, url, baseUrl, readBody) {
    if (req.method === 'GET' && path === '/fhir/.well-known/smart-configuration') return json(res, 200, configuration(baseUrl)), true;
    if (req.method === 'GET' && path === '/auth/authorize') {
      const p = url.searchParams;
      const client = clients.get(p.get('client_id') ?? '');
      const redirect = p.get('redirect_uri') ?? '';
      // Never redirect to an unregistered URI (RFC 6749 §4.1.2.1): answer the error here.
      if (!client || !client.redirectUris.includes(redirect)) return oauthError(res, 400, 'invalid_request', 'unknown client or redirect_uri'), true;
      const back = (params) => {
        const to = new URL(redirect);
        for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
        if (p.get('state')) to.searchParams.set('state', p.get('state'));
        res.writeHead(302, { Location: to.toString(), 'Cache-Control': 'no-store' });
        res.end();
      };
      if (p.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' }), true;
      if (p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge')) return back({ error: 'invalid_request', error_description: 'PKCE S256 required' }), true;
      if (p.get('aud') !== baseUrl) return back({ error: 'invalid_request', error_description: 'aud must be the FHIR base URL' }), true;
      const scope = (p.get('scope') ?? '').split(' ').filter(Boolean);
      let context;
      if (p.get('launch')) {
        const l = launches.get(p.get('launch'));
        if (!l || l.expires < now()) return back({ error: 'access_denied', error_description: 'unknown or expired launch' }), true;
        context = l;
      } else {
        context = { patient: standaloneUser.patient, appContext: undefined, user: standaloneUser, tokenSeconds: 3600 };
      }
      const code = random();
      codes.set(code, { client: p.get('client_id'), redirect, challenge: p.get('code_challenge'), scope, context, expires: now() + CODE_SECONDS });
      return back({ code }), true;
    }
    if (req.method === 'POST' && path === '/auth/token') {
      const client = clientOf(req);
      if (!client) return oauthError(res, 401, 'invalid_client', 'client authentication failed'), true;
      const form = new URLSearchParams(await readBody(req));
      const c = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? ''); // one use
      if (form.get('grant_type') !== 'authorization_code' || !c || c.expires < now() || c.client !== client || c.redirect !== form.get('redirect_uri')) {
        return oauthError(res, 400, 'invalid_grant', 'code unknown, used, expired or not for this client'), true;
      }
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== c.challenge) return oauthError(res, 400, 'invalid_grant', 'code_verifier does not match'), true;
      const access = random();
      const exp = now() + (c.context.tokenSeconds ?? 3600);
      const granted = c.scope.filter((s) => s !== 'launch/patient' || c.context.patient);
      tokens.set(access, { client, patient: c.context.patient, user: c.context.user, scope: granted.join(' '), exp });
      const body = { access_token: access, token_type: 'Bearer', expires_in: exp - now(), scope: granted.join(' ') };
      if (c.context.patient) body.patient = c.context.patient;
      if (c.context.appContext) body.appContext = c.context.appContext;
      return json(res, 200, body), true;
    }
    if (req.method === 'POST' && path === '/auth/introspect') {
      const client = clientOf(req);
      if (!client) return oauthError(res, 401, 'invalid_client', 'client authentication failed'), true;
      const form = new URLSearchParams(await readBody(req));
      const t = tokens.get(form.get('token') ?? '');
      if (!t || t.exp <= now()) return json(res, 200, { active: false }), true;
      return json(res, 200, {
        active: true, client_id: t.client, scope: t.scope, exp: t.exp, sub: t.user.fhirUser, fhirUser: t.user.fhirUser,
        roles: t.user.roles ?? [], ...(t.patient ? { patient: t.patient } : {}),
      }), true;
    }
    return false;
  }

  // Admin routes (the caller has checked the admin token).
  async function admin(req, res, route, readBody) {
    const body = () => readBody(req).then((t) => JSON.parse(t || '{}'));
    if (route === 'POST /__admin/smart/clients') {
      const b = await body();
      clients.set(b.client_id, { secret: b.client_secret, redirectUris: b.redirect_uris ?? [] });
      return json(res, 200, { client_id: b.client_id }), true;
    }
    if (route === 'POST /__admin/smart/launch') {
      const b = await body();
      const launch = random();
      launches.set(launch, { patient: b.patient, appContext: b.appContext, user: b.user ?? { fhirUser: 'Practitioner/test-clinician', roles: [] }, tokenSeconds: b.tokenSeconds ?? 3600, expires: now() + LAUNCH_SECONDS });
      return json(res, 200, { launch }), true;
    }
    if (route === 'POST /__admin/smart/user') {
      standaloneUser = await body();
      return json(res, 200, standaloneUser), true;
    }
    if (route === 'POST /__admin/smart/expire') {
      for (const t of tokens.values()) t.exp = 0;
      return json(res, 200, { expired: tokens.size }), true;
    }
    return false;
  }

  // Tokens the double issued are good for FHIR reads while active.
  const accepts = (token) => { const t = tokens.get(token ?? ''); return !!t && t.exp > now(); };
  return { handle, admin, accepts };
}
