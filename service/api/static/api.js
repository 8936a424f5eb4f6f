// ashiwatch pages' shared helpers: the login token (kept in sessionStorage, shared by the
// dashboard and the trainee pages), the $ selector and the API call with the token.
// Loaded before app.js or trainee.js; plain JS, no build step.
"use strict";

const KEY = "ashiwatch.token";
const $ = (sel, root = document) => root.querySelector(sel);
let token = sessionStorage.getItem(KEY);

// JSON of an API path (null for 204); a failure throws an Error with `status` and the
// server's one-line `detail`.
async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {}, { Authorization: `Bearer ${token}` });
  const r = await fetch(path, Object.assign({}, opts, { headers }));
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
    const err = new Error(`${r.status}: ${detail}`);
    err.status = r.status;
    throw err;
  }
  return r.status === 204 ? null : r.json();
}
