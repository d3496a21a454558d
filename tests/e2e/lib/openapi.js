'use strict';
// Validates every HTTP response the e2e helpers receive against docs/openapi.yaml (OpenAPI 3.1):
// the status code must be documented for the route and method (exactly, as `4XX`, or `default`),
// and the body must match the schema of that status for the response's media type.
//
// - openapi-backend's OpenAPIRouter matches a request to its operation (path templates, methods).
// - Ajv2020 (JSON Schema 2020-12, the dialect of OpenAPI 3.1; openapi-backend's own response
//   validation covers only `application/json` with a draft-07 Ajv, and our errors are
//   `application/problem+json`) checks the body; `$ref`s resolve inside the document itself.
// - A path in the document with a method it does not list must answer 405 (MethodNotAllowed);
//   an `/api/` or `/public/` path outside the document 404 (NotFound), as the document says.
//   Other paths (the dashboard's files) are not described by the document and are not checked.
//
// Set MAEUL_E2E_OPENAPI=0 to turn the check off (e.g. to see a test's own failure first).

const fs = require('node:fs');
const path = require('node:path');
function need(name) {
  try {
    return require(name);
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
    throw new Error(`the e2e tests need their npm packages (${name} is missing): run \`(cd tests/e2e && npm ci)\` ` +
      '(scripts/test does it through maeul_web_deps)');
  }
}
const yaml = need('js-yaml');
const Ajv2020 = need('ajv/dist/2020').default;
const addFormats = need('ajv-formats').default;
const { OpenAPIRouter } = need('openapi-backend');

const SPEC_PATH = path.resolve(__dirname, '..', '..', '..', 'docs', 'openapi.yaml');
const SCHEMA_BASE = 'https://maeul.city/openapi/components/schemas/';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let state;

function load() {
  if (state) return state;
  const doc = yaml.load(fs.readFileSync(SPEC_PATH, 'utf8'));
  // allErrors only to describe a failure: with it, a failing oneOf branch over a large body
  // (a 20000-position boundary) costs a minute
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  const ajvAll = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  addFormats(ajvAll);
  // Each component schema is a schema resource of its own ('#/components/schemas/X' becomes
  // BASE + 'X'): referring into the whole document instead makes Ajv slow (a minute for a
  // 20000-position boundary).
  for (const [name, schema] of Object.entries((doc.components && doc.components.schemas) || {})) {
    ajv.addSchema(rewriteRefs(schema), SCHEMA_BASE + name);
    ajvAll.addSchema(rewriteRefs(schema), SCHEMA_BASE + name);
  }
  const router = new OpenAPIRouter({ definition: doc, apiRoot: '/' });
  state = { doc, ajv, ajvAll, router, compiled: new Map() };
  return state;
}

// A deep copy of a schema whose '#/components/schemas/X' references point at X's own resource.
function rewriteRefs(node) {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') {
      if (!v.startsWith('#/components/schemas/')) throw new Error(`openapi: unsupported $ref in a schema: ${v}`);
      out[k] = SCHEMA_BASE + v.slice('#/components/schemas/'.length);
    } else {
      out[k] = rewriteRefs(v);
    }
  }
  return out;
}

function atPointer(doc, ptr) {
  return ptr.slice(1).split('/').reduce((acc, k) => acc && acc[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

function pointerEscape(s) {
  return String(s).replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolveRef(doc, obj) {
  let o = obj;
  for (let i = 0; o && o.$ref && i < 10; i++) {
    if (!o.$ref.startsWith('#/')) throw new Error(`openapi: external $ref not supported: ${o.$ref}`);
    o = o.$ref.slice(2).split('/').reduce((acc, k) => acc && acc[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return o;
}

// The document's path template that matches urlPath best (most literal segments), or null.
function matchPath(doc, urlPath) {
  const segs = urlPath.split('/');
  let best = null;
  let bestLiterals = -1;
  for (const tpl of Object.keys(doc.paths || {})) {
    const t = tpl.split('/');
    if (t.length !== segs.length) continue;
    let literals = 0;
    let ok = true;
    for (let i = 0; i < t.length && ok; i++) {
      if (/^\{[^}]+\}$/.test(t[i])) ok = segs[i] !== '';
      else if (t[i] === segs[i]) literals++;
      else ok = false;
    }
    if (ok && literals > bestLiterals) { best = tpl; bestLiterals = literals; }
  }
  return best;
}

function mediaType(contentType) {
  return String(contentType || '').split(';')[0].trim().toLowerCase();
}

function pickContent(content, mt) {
  if (content[mt]) return { key: mt, media: content[mt] };
  for (const [k, v] of Object.entries(content)) {
    const [type, sub] = k.toLowerCase().split('/');
    if ((type === '*' || type === mt.split('/')[0]) && sub === '*') return { key: k, media: v };
  }
  return null;
}

function pickResponse(responses, status) {
  const s = String(status);
  if (responses[s]) return { key: s, response: responses[s] };
  const range = `${s[0]}XX`;
  for (const k of Object.keys(responses)) if (k.toUpperCase() === range) return { key: k, response: responses[k] };
  if (responses.default) return { key: 'default', response: responses.default };
  return null;
}

function validator(st, schemaPointer, all = false) {
  const key = `${all ? 'all' : 'first'} ${schemaPointer}`;
  let v = st.compiled.get(key);
  if (!v) {
    const schema = atPointer(st.doc, schemaPointer);
    if (!schema) throw new Error(`openapi: no schema at #${schemaPointer}`);
    v = (all ? st.ajvAll : st.ajv).compile(rewriteRefs(schema));
    st.compiled.set(key, v);
  }
  return v;
}

// Returns null when the response conforms, else a description of the mismatch.
// res: {status, contentType, text}; method: HTTP method; urlPath: path with or without the query.
function check(method, urlPath, res) {
  const st = load();
  const { doc } = st;
  const m = String(method).toLowerCase();
  let p = String(urlPath).split('?')[0].split('#')[0];
  let op;
  let routeError;
  try {
    op = st.router.matchOperation({ method: m, path: p, headers: {} }, true);
  } catch (e) {
    routeError = e.message;
  }
  const tpl = op ? op.path : matchPath(doc, p);
  let where;
  let responses;
  if (op) {
    responses = op.responses || {};
    where = `${m.toUpperCase()} ${tpl}`;
  } else if (/^405/.test(routeError || '') && tpl) {
    const item = doc.paths[tpl];
    if (m === 'head' && item.get) return null; // HEAD of a GET route: no body to check
    const allowed = METHODS.filter((x) => item[x]).map((x) => x.toUpperCase());
    where = `components/responses/MethodNotAllowed (${tpl} lists ${allowed.join(', ')})`;
    if (res.status !== 405) return `${method} ${tpl}: the document lists only ${allowed.join(', ')}, so it must answer 405, got ${res.status}`;
    responses = { 405: { $ref: '#/components/responses/MethodNotAllowed' } };
  } else {
    if (!/^\/(api|public)\//.test(p)) return null; // the dashboard's files: not described
    where = `components/responses/NotFound (no path in the document matches ${p})`;
    if (res.status !== 404) return `${method} ${p} is not in the document, so it must answer 404, got ${res.status}`;
    responses = { 404: { $ref: '#/components/responses/NotFound' } };
  }
  const picked = pickResponse(responses, res.status);
  if (!picked) {
    return `${method} ${tpl || p} → ${res.status}: status not documented for this operation (${where} documents ${Object.keys(responses).join(', ')})`;
  }
  let basePtr;
  let response = picked.response;
  if (response.$ref) {
    basePtr = response.$ref.slice(1);
    response = resolveRef(doc, response);
    // follow a chain of refs to the final pointer
    let r = responses[picked.key];
    while (r && r.$ref) { basePtr = r.$ref.slice(1); r = resolveRef(doc, { $ref: r.$ref }); if (r && r.$ref) continue; }
  } else {
    basePtr = tpl
      ? `/paths/${pointerEscape(tpl)}/${m}/responses/${pointerEscape(picked.key)}`
      : null;
  }
  const content = response && response.content;
  const body = res.text === undefined ? '' : res.text;
  if (!content || Object.keys(content).length === 0) {
    if (body.length === 0) return null;
    return `${method} ${tpl} → ${res.status}: the document describes no body for this status, got ${res.contentType} ${body.slice(0, 200)}`;
  }
  const mt = mediaType(res.contentType);
  const pc = pickContent(content, mt);
  if (!pc) {
    return `${method} ${tpl || p} → ${res.status}: content type "${res.contentType}" not documented for this status (documented: ${Object.keys(content).join(', ')})`;
  }
  if (!pc.media.schema) return null;
  if (m === 'head') return null;
  let value;
  if (/(^|\/|\+)json$/.test(mt)) {
    try { value = JSON.parse(body); } catch (e) {
      return `${method} ${tpl} → ${res.status} ${mt}: body is not JSON (${e.message}): ${body.slice(0, 200)}`;
    }
  } else {
    value = body;
  }
  const schemaPtr = `${basePtr}/content/${pointerEscape(pc.key)}/schema`;
  const v = validator(st, schemaPtr);
  if (v(value)) return null;
  const vAll = validator(st, schemaPtr, true);
  vAll(value);
  const errs = (vAll.errors || v.errors).slice(0, 8).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}${e.params && e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''} [${e.schemaPath}]`);
  return `${method} ${tpl || p} → ${res.status} ${mt}: body does not match #${schemaPtr}:\n    ${errs.join('\n    ')}\n  body: ${body.slice(0, 800)}`;
}

function enabled() {
  return process.env.MAEUL_E2E_OPENAPI !== '0';
}

// Throws an AssertionError (failing the test that made the request) when the response does not conform.
function assertConforms(method, urlPath, res) {
  if (!enabled()) return;
  const problem = check(method, urlPath, res);
  if (problem) {
    const { AssertionError } = require('node:assert');
    throw new AssertionError({ message: `response does not conform to docs/openapi.yaml: ${problem}` });
  }
}

module.exports = { check, assertConforms, matchPath, SPEC_PATH };
