// The pages' GraphQL client: every operation by name, sent as an Automatic Persisted
// Query (its SHA-256 alone), with the text only when the gateway answers
// PersistedQueryNotFound. The texts and hashes come from operations.json, built from
// examples/operations/ — the same texts the gateway's allow-list holds.
import { h } from "preact";
import htm from "htm";

export const html = htm.bind(h);
export const config = JSON.parse(document.getElementById("example-config").textContent);

let operations = null;
async function operation(name) {
  if (operations === null) {
    const response = await fetch(config.operations);
    operations = await response.json();
  }
  const found = operations[name];
  if (!found) throw new Error(`unknown operation ${name}`);
  return found;
}

// Signed-in state per app (storefront and back office sign in separately), per tab.
const TOKEN_KEY = `${config.app}.session`;
export function session() {
  const raw = sessionStorage.getItem(TOKEN_KEY);
  return raw ? JSON.parse(raw) : null;
}
export function setSession(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event("session"));
}

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    this.code = errors[0]?.extensions?.code;
  }
}

async function post(body) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  const signedIn = session();
  if (signedIn) headers.authorization = `Bearer ${signedIn.token}`;
  const response = await fetch(config.graphql, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`the gateway answered HTTP ${response.status}`);
  }
}

// The data of one operation; a GraphQLError when the gateway answers with errors and no
// data (partial data with errors is returned as data: the page shows what it has).
export async function gql(name, variables = {}) {
  const { hash, query } = await operation(name);
  const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
  let result = await post({ operationName: name, variables, extensions });
  if (result.errors?.some((e) => e.extensions?.code === "PERSISTED_QUERY_NOT_FOUND")) {
    result = await post({ operationName: name, variables, extensions, query });
  }
  const code = result.errors?.[0]?.extensions?.code;
  if (code === "TOKEN_EXPIRED" || code === "TOKEN_INVALID") {
    setSession(null); // signed out: the page offers to sign in again
  }
  if (result.errors && !result.data) throw new GraphQLError(result.errors);
  if (result.errors) console.warn(name, result.errors);
  return result.data;
}

export async function signIn(email) {
  const response = await fetch(config.token, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message || `HTTP ${response.status}`);
  setSession(body);
  return body;
}

export async function demoAccounts() {
  const response = await fetch(config.token);
  return response.json();
}

export function money(value) {
  if (!value) return "";
  const symbol = value.currency === "CNY" ? "¥" : `${value.currency} `;
  return `${symbol}${Number(value.amount).toFixed(2)}`;
}

export function day(iso) {
  return iso ? new Date(iso).toLocaleDateString() : "";
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

// A fresh key per checkout attempt: a retry of the same attempt (a lost answer) reuses it,
// a new attempt after the buyer changed something gets a new one.
export function newKey(prefix) {
  return `${prefix}-${crypto.randomUUID()}`;
}
