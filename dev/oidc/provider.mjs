// A real OpenID Connect provider for tests and local development, built on
// the OpenID-certified oidc-provider. Loopback only: it keeps everything in
// memory, signs people in with oidc-provider's development login form and
// consents on their behalf. Never run it anywhere but a developer's machine
// or CI.
//
//   node provider.mjs <config.json>
//
// The config (see dev/identity, which writes it):
//
//   issuer          "https://127.0.0.1:PORT" (https exactly when tls is given)
//   port, host      where to listen (host defaults to 127.0.0.1)
//   tls             optional {cert, key}: PEM file paths
//   jwks            {keys: [private RSA JWK with kid, alg RS256, use sig]}
//   audience        aud of every access token
//   resource        optional resource indicator (an absolute URI) standing for
//                   the audience; defaults to the audience when that is an
//                   absolute URI, else "urn:audience:<audience>". Requests
//                   without a resource parameter get it too.
//   accessTokenTTL  seconds (default 600)
//   clients         [{client_id, client_secret, grant_types, redirect_uris?,
//                     post_logout_redirect_uris?, permissions?}]
//   users           {login: {permissions, name?}}
//   cookieKeys      optional [string]; random when absent
//   exitOnStdinClose optional boolean: exit when standard input closes (the
//                   parent that started this process has gone)
//
// Every access token is an RS256 JWT for the audience with a "permissions"
// claim in Temporal's form ("default:read"): a client's own permissions for
// client_credentials tokens, the signed-in person's for the others.

import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as crypto from 'node:crypto';
import * as querystring from 'node:querystring';

function fail(message) {
  process.stderr.write(`oidc provider: ${message}\n`);
  process.exit(2);
}

// oidc-provider announces its development-only shortcuts (memory adapter,
// dev interactions, Node.js 20 being older than the LTS it targets) on the
// console. They are the point here, so keep them out of the log; anything
// else it says still comes through.
const quiet = [
  'quick start development-only',
  'devInteractions',
  'Unsupported runtime',
  'already parsed request body',
  'function called, you SHOULD change it',
];
for (const method of ['info', 'warn', 'log']) {
  const original = console[method].bind(console);
  console[method] = (...args) => {
    const [first] = args;
    if (typeof first === 'string' && first.includes('oidc-provider ') && quiet.some((q) => first.includes(q))) {
      return;
    }
    original(...args);
  };
}

// ---- configuration ----------------------------------------------------------

const configPath = process.argv[2];
if (!configPath) {
  fail('usage: node provider.mjs <config.json>');
}

let cfg;
try {
  cfg = JSON.parse(readFileSync(configPath, 'utf8'));
} catch (err) {
  fail(`reading config ${configPath}: ${err.message}`);
}
if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
  fail(`config ${configPath}: must be a JSON object`);
}

const isStringArray = (v) => Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '');
const isAbsoluteURI = (v) => typeof v === 'string' && URL.parse(v) !== null;

const issuerURL = URL.parse(cfg.issuer ?? '');
if (!issuerURL || !['http:', 'https:'].includes(issuerURL.protocol)) {
  fail('config: issuer must be an http(s) URL');
}
if (issuerURL.search || issuerURL.hash) {
  fail('config: issuer must have no query or fragment');
}
const issuer = cfg.issuer.replace(/\/+$/, '');

if (!Number.isInteger(cfg.port) || cfg.port < 1 || cfg.port > 65535) {
  fail('config: port must be an integer from 1 to 65535');
}
const host = cfg.host ?? '127.0.0.1';
if (typeof host !== 'string' || host === '') {
  fail('config: host must be a non-empty string');
}

let tls;
if (cfg.tls !== undefined && cfg.tls !== null) {
  if (typeof cfg.tls.cert !== 'string' || typeof cfg.tls.key !== 'string') {
    fail('config: tls must be {"cert": "<pem file>", "key": "<pem file>"}');
  }
  try {
    tls = { cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) };
  } catch (err) {
    fail(`config: tls: ${err.message}`);
  }
}
if ((issuerURL.protocol === 'https:') !== Boolean(tls)) {
  fail(`config: issuer ${issuer} is ${issuerURL.protocol.slice(0, -1)} but tls is ${tls ? 'given' : 'not given'}: use https exactly when tls is given`);
}

const keys = cfg.jwks?.keys;
if (!Array.isArray(keys) || keys.length === 0) {
  fail('config: jwks.keys must hold at least one private signing key');
}
for (const [i, key] of keys.entries()) {
  if (key?.kty !== 'RSA' || typeof key.d !== 'string') {
    fail(`config: jwks.keys[${i}] must be a private RSA JWK`);
  }
  if (typeof key.kid !== 'string' || key.kid === '') {
    fail(`config: jwks.keys[${i}] has no kid`);
  }
  if (key.alg !== undefined && key.alg !== 'RS256') {
    fail(`config: jwks.keys[${i}] alg must be RS256`);
  }
  if (key.use !== undefined && key.use !== 'sig') {
    fail(`config: jwks.keys[${i}] use must be sig`);
  }
  try {
    crypto.createPrivateKey({ key, format: 'jwk' });
  } catch (err) {
    fail(`config: jwks.keys[${i}]: ${err.message}`);
  }
}

const { audience } = cfg;
if (typeof audience !== 'string' || audience === '') {
  fail('config: audience must be a non-empty string');
}
const resource = cfg.resource ?? (isAbsoluteURI(audience) ? audience : `urn:audience:${audience}`);
if (!isAbsoluteURI(resource) || resource.includes('#')) {
  fail('config: resource must be an absolute URI without a fragment');
}

const accessTokenTTL = cfg.accessTokenTTL ?? 600;
if (!Number.isInteger(accessTokenTTL) || accessTokenTTL <= 0) {
  fail('config: accessTokenTTL must be a positive integer (seconds)');
}

const users = cfg.users ?? {};
if (users === null || typeof users !== 'object' || Array.isArray(users)) {
  fail('config: users must be an object keyed by login');
}
for (const [login, user] of Object.entries(users)) {
  if (login === '' || user === null || typeof user !== 'object') {
    fail(`config: users.${login} must be an object`);
  }
  if (user.permissions !== undefined && !isStringArray(user.permissions)) {
    fail(`config: users.${login}.permissions must be an array of strings`);
  }
  if (user.name !== undefined && typeof user.name !== 'string') {
    fail(`config: users.${login}.name must be a string`);
  }
}
const knownUser = (login) => typeof login === 'string' && Object.hasOwn(users, login);

const grantTypes = new Set(['client_credentials', 'authorization_code', 'refresh_token']);
if (!Array.isArray(cfg.clients) || cfg.clients.length === 0) {
  fail('config: clients must list at least one client');
}
const clientPermissions = new Map();
const clients = cfg.clients.map((c, i) => {
  const where = `clients[${i}]`;
  if (typeof c?.client_id !== 'string' || c.client_id === '') {
    fail(`config: ${where}.client_id must be a non-empty string`);
  }
  if (clientPermissions.has(c.client_id)) {
    fail(`config: ${where}: client_id ${c.client_id} is listed twice`);
  }
  if (typeof c.client_secret !== 'string' || c.client_secret === '') {
    fail(`config: ${where} (${c.client_id}).client_secret must be a non-empty string`);
  }
  if (!isStringArray(c.grant_types) || c.grant_types.length === 0
    || !c.grant_types.every((g) => grantTypes.has(g))) {
    fail(`config: ${where} (${c.client_id}).grant_types must be some of ${[...grantTypes].join(', ')}`);
  }
  const code = c.grant_types.includes('authorization_code');
  const redirectURIs = c.redirect_uris ?? [];
  if (!isStringArray(redirectURIs) || !redirectURIs.every(isAbsoluteURI)) {
    fail(`config: ${where} (${c.client_id}).redirect_uris must be absolute URLs`);
  }
  if (code && redirectURIs.length === 0) {
    fail(`config: ${where} (${c.client_id}) uses authorization_code and needs redirect_uris`);
  }
  if (c.permissions !== undefined && !isStringArray(c.permissions)) {
    fail(`config: ${where} (${c.client_id}).permissions must be an array of strings`);
  }
  clientPermissions.set(c.client_id, c.permissions ?? []);
  return {
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: c.grant_types,
    response_types: code ? ['code'] : [],
    redirect_uris: code ? redirectURIs : [],
    post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
    // client_secret_post works too: oidc-provider takes either of the two
    // secret methods for a client registered with one of them.
    token_endpoint_auth_method: 'client_secret_basic',
  };
});

const cookieKeys = cfg.cookieKeys ?? [crypto.randomBytes(32).toString('base64url')];
if (!isStringArray(cookieKeys) || cookieKeys.length === 0) {
  fail('config: cookieKeys must be a non-empty array of strings');
}

// ---- provider ---------------------------------------------------------------

// Imported only now, so that the console filter above is in place first.
const { default: Provider, errors } = await import('oidc-provider');

const resourceServer = {
  scope: 'openid profile email offline_access',
  audience,
  accessTokenFormat: 'jwt',
  accessTokenTTL,
  jwt: { sign: { alg: 'RS256' } },
};

const ttl = (seconds) => () => seconds;

const configuration = {
  clients,
  jwks: { keys },
  cookies: { keys: cookieKeys },

  // A login name picks the user; a name not in users has no account.
  async findAccount(_ctx, id) {
    if (!knownUser(id)) {
      return undefined;
    }
    const user = users[id];
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: user.name ?? id };
      },
    };
  },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'], // asked for by Temporal's UI; nobody has one
  },
  // Put the profile claims (name) in the ID token, not only behind userinfo.
  conformIdTokenClaims: false,

  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async defaultResource(_ctx, _client, oneOf) {
        if (oneOf) {
          if (!Array.isArray(oneOf)) return oneOf;
          return oneOf.includes(resource) ? resource : oneOf[0];
        }
        return resource;
      },
      async useGrantedResource() {
        return true;
      },
      async getResourceServerInfo(_ctx, indicator) {
        if (indicator !== resource) {
          throw new errors.InvalidTarget(`unknown resource indicator; this provider serves ${resource}`);
        }
        return resourceServer;
      },
    },
  },

  async extraTokenClaims(_ctx, token) {
    if (token.kind === 'ClientCredentials') {
      return { permissions: [...(clientPermissions.get(token.clientId) ?? [])] };
    }
    if (token.kind === 'AccessToken') {
      return { permissions: [...(users[token.accountId]?.permissions ?? [])] };
    }
    return undefined;
  },

  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },

  // Temporal's UI server may send no PKCE; only public clients must.
  pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },

  // Loopback development and tests: any origin.
  clientBasedCORS: () => true,

  ttl: {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTTL,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTTL,
    AuthorizationCode: ttl(60),
    IdToken: ttl(accessTokenTTL),
    RefreshToken: ttl(24 * 60 * 60),
    Interaction: ttl(60 * 60),
    Session: ttl(24 * 60 * 60),
    Grant: ttl(24 * 60 * 60),
    DeviceCode: ttl(10 * 60),
    BackchannelAuthenticationRequest: ttl(10 * 60),
    PreAuthorizedCode: ttl(10 * 60),
  },

  async renderError(ctx, out) {
    ctx.type = 'html';
    const rows = Object.entries(out)
      .map(([k, v]) => `<li><b>${escapeHTML(k)}</b>: ${escapeHTML(String(v))}</li>`).join('');
    ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oidc provider error</title></head>`
      + `<body><h1>oidc provider error</h1><ul>${rows}</ul></body></html>`;
  },
};

function escapeHTML(s) {
  return s.replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

let provider;
try {
  provider = new Provider(issuer, configuration);
} catch (err) {
  fail(`config: ${err.message}`);
}
provider.proxy = false;

// Refuse a login name that is not in users at the login form itself: the
// interaction ends with access_denied, which goes back to the client's
// redirect URI like any refusal. (findAccount knows no such account either.)
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+\/?$/.test(ctx.path)
    && ctx.is('application/x-www-form-urlencoded')) {
    const body = querystring.parse(await readBody(ctx.req));
    if (body.prompt === 'login' && !knownUser(body.login)) {
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
        error: 'access_denied',
        error_description: 'unknown login',
      }, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(returnTo);
      return;
    }
    // oidc-provider reads an already-read body from here.
    ctx.req.body = body;
  }
  await next();
});

// Stay quiet on the errors it answers with (wrong secrets and the like are
// what tests ask for); report only the ones that are its own.
provider.on('server_error', (_ctx, err) => {
  process.stderr.write(`oidc provider: server error: ${err?.stack ?? err}\n`);
});

const server = tls
  ? https.createServer({ cert: tls.cert, key: tls.key }, provider.callback())
  : http.createServer(provider.callback());
server.on('error', (err) => {
  fail(`listening on ${host}:${cfg.port}: ${err.code ?? ''} ${err.message}`);
});
server.listen(cfg.port, host, () => {
  process.stdout.write(`oidc provider listening on ${issuer}\n`);
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (cfg.exitOnStdinClose) {
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}
