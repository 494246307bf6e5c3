// SMART App Launch 2.0 authorization-server double for the test FHIR server (test only, loopback, in memory).
//   GET  {fhir}/.well-known/smart-configuration   discovery (SMART 2.0 §2.1)
//   GET  /auth/authorize                          approves the configured test user at once and redirects with code + state
//   POST /auth/token                              authorization_code grant; PKCE S256 checked (RFC 7636 §4.6); client_secret_basic or
//                                                 private_key_jwt (RFC 7523 §2.2: RS384/ES384 against the client's registered JWKS);
//                                                 with the openid scope an RS256 id_token (OpenID Connect Core §2) carrying fhirUser
//   POST /auth/introspect                         RFC 7662 (same client authentication); adds patient, fhirUser, roles
//   GET  /auth/jwks                               the double's id_token signing key (JWKS, RFC 7517)
// Set up through the admin API (admin token):
//   POST /__admin/smart/clients   {client_id, client_secret?, jwks?: {keys[]}, redirect_uris[]}
//   POST /__admin/smart/launch    {patient, appContext?, user?: {fhirUser, roles[]}, tokenSeconds?, launchSeconds?,
//                                  idToken?: 'forged'|'expired'|'wrong-aud'|'wrong-nonce'|'none'}  -> {launch}
//   POST /__admin/smart/user      {fhirUser, roles[], patient?}  the user a standalone launch approves
//   POST /__admin/smart/expire    {}  every issued token becomes inactive (as after its exp)
//   POST /__admin/smart/stats     {launch}  -> {tokens, introspections} answered for that launch's tokens
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify } from 'node:crypto';

const CODE_SECONDS = 60;
const LAUNCH_SECONDS = 300;

export function createSmart() {
  const clients = new Map(); // client_id -> {secret?, jwks?, redirectUris}
  const launches = new Map(); // launch -> {patient, appContext, user, tokenSeconds, expires}
  const codes = new Map(); // code -> {...}
  const tokens = new Map(); // access token -> {client, patient, user, scope, exp}
  const stats = new Map(); // launch -> {tokens, introspections}
  const usedJti = new Map(); // client assertion jti -> exp (RFC 7523 §3: one use)
  let standaloneUser = { fhirUser: 'Practitioner/trial-coordinator', roles: [] };
  const now = () => Math.floor(Date.now() / 1000);
  const random = () => randomBytes(24).toString('base64url');
  // The id_token signing key, and a second key under the same kid to forge tokens with.
  const signingKid = random().slice(0, 16);
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = (payload, key) => {
    const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: signingKid })}.${b64(payload)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
  };
  const statOf = (launch) => { if (!stats.has(launch)) stats.set(launch, { tokens: 0, introspections: 0 }); return stats.get(launch); };

  function configuration(baseUrl) {
    const origin = new URL(baseUrl).origin;
    return {
      issuer: baseUrl,
      authorization_endpoint: `${origin}/auth/authorize`,
      token_endpoint: `${origin}/auth/token`,
      introspection_endpoint: `${origin}/auth/introspect`,
      jwks_uri: `${origin}/auth/jwks`,
      grant_types_supported: ['authorization_code'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      scopes_supported: ['openid', 'fhirUser', 'launch', 'launch/patient', 'patient/*.rs', 'user/*.rs'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      capabilities: ['launch-ehr', 'launch-standalone', 'client-confidential-symmetric', 'client-confidential-asymmetric', 'context-ehr-patient', 'context-standalone-patient', 'sso-openid-connect', 'permission-v2'],
    };
  }

  // client_secret_basic (RFC 6749 §2.3.1) or private_key_jwt (RFC 7523 §2.2, SMART App Launch 2.0 "Confidential asymmetric").
  function clientOf(req, form, tokenUrl) {
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (m) {
      const [id, secret] = Buffer.from(m[1], 'base64').toString('utf8').split(':').map(decodeURIComponent);
      const c = clients.get(id);
      if (!c || !c.secret) return null;
      const a = Buffer.from(secret ?? ''), b = Buffer.from(c.secret);
      return a.length === b.length && timingSafeEqual(a, b) ? id : null;
    }
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return null;
    try {
      const [h, p, sig] = (form.get('client_assertion') ?? '').split('.');
      const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      const c = clients.get(claims.iss);
      if (!c?.jwks || claims.sub !== claims.iss || (form.get('client_id') && form.get('client_id') !== claims.iss)) return null;
      if (claims.aud !== tokenUrl && !(Array.isArray(claims.aud) && claims.aud.includes(tokenUrl))) return null;
      if (typeof claims.exp !== 'number' || claims.exp <= now() || claims.exp > now() + 300 + 60) return null;
      if (!claims.jti || usedJti.has(claims.jti)) return null;
      const jwk = c.jwks.keys.find((k) => !header.kid || k.kid === header.kid);
      if (!jwk || !['RS384', 'ES384'].includes(header.alg)) return null;
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      const ok = verify('sha384', Buffer.from(`${h}.${p}`), header.alg === 'ES384' ? { key, dsaEncoding: 'ieee-p1363' } : key, Buffer.from(sig, 'base64url'));
      if (!ok) return null;
      for (const [j, e] of usedJti) if (e < now()) usedJti.delete(j);
      usedJti.set(claims.jti, claims.exp);
      return claims.iss;
    } catch {
      return null;
    }
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
    if (req.method === 'GET' && path === '/auth/jwks') {
      return json(res, 200, { keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: signingKid, alg: 'RS256', use: 'sig' }] }), true;
    }
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
        context = { patient: standaloneUser.patient, appContext: undefined, user: standaloneUser, tokenSeconds: 3600, launch: 'standalone' };
      }
      const code = random();
      codes.set(code, { client: p.get('client_id'), redirect, challenge: p.get('code_challenge'), scope, context, nonce: p.get('nonce'), expires: now() + CODE_SECONDS });
      return back({ code }), true;
    }
    const tokenUrl = `${new URL(baseUrl).origin}/auth/token`;
    if (req.method === 'POST' && path === '/auth/token') {
      const form = new URLSearchParams(await readBody(req));
      const client = clientOf(req, form, tokenUrl);
      if (!client) return oauthError(res, 401, 'invalid_client', 'client authentication failed'), true;
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
      tokens.set(access, { client, patient: c.context.patient, user: c.context.user, scope: granted.join(' '), exp, launch: c.context.launch });
      statOf(c.context.launch).tokens++;
      const body = { access_token: access, token_type: 'Bearer', expires_in: exp - now(), scope: granted.join(' ') };
      if (granted.includes('openid') && c.context.idToken !== 'none') {
        // OpenID Connect Core §2; SMART App Launch 2.0: fhirUser is the URL of the user's FHIR resource.
        const mode = c.context.idToken;
        const claims = {
          iss: baseUrl, sub: c.context.user.fhirUser, aud: mode === 'wrong-aud' ? 'another-client' : client,
          iat: mode === 'expired' ? now() - 1200 : now(), exp: mode === 'expired' ? now() - 600 : exp,
          fhirUser: `${baseUrl}/${c.context.user.fhirUser}`,
        };
        if (c.nonce) claims.nonce = mode === 'wrong-nonce' ? random() : c.nonce;
        body.id_token = jwt(claims, mode === 'forged' ? forger.privateKey : signing.privateKey);
      }
      if (c.context.patient) body.patient = c.context.patient;
      if (c.context.appContext) body.appContext = c.context.appContext;
      return json(res, 200, body), true;
    }
    if (req.method === 'POST' && path === '/auth/introspect') {
      const form = new URLSearchParams(await readBody(req));
      const client = clientOf(req, form, tokenUrl);
      if (!client) return oauthError(res, 401, 'invalid_client', 'client authentication failed'), true;
      const t = tokens.get(form.get('token') ?? '');
      if (t) statOf(t.launch).introspections++;
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
      clients.set(b.client_id, { secret: b.client_secret, jwks: b.jwks, redirectUris: b.redirect_uris ?? [] });
      return json(res, 200, { client_id: b.client_id }), true;
    }
    if (route === 'POST /__admin/smart/launch') {
      const b = await body();
      const launch = random();
      launches.set(launch, {
        patient: b.patient, appContext: b.appContext, user: b.user ?? { fhirUser: 'Practitioner/test-clinician', roles: [] }, tokenSeconds: b.tokenSeconds ?? 3600,
        idToken: b.idToken, launch, expires: now() + (b.launchSeconds ?? LAUNCH_SECONDS),
      });
      return json(res, 200, { launch }), true;
    }
    if (route === 'POST /__admin/smart/user') {
      standaloneUser = await body();
      return json(res, 200, standaloneUser), true;
    }
    if (route === 'POST /__admin/smart/stats') {
      const b = await body();
      return json(res, 200, stats.get(b.launch) ?? { tokens: 0, introspections: 0 }), true;
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
