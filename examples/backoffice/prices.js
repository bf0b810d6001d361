// Prices: the SKUs of products matching a search, list and sale price edited in place and
// saved in one bulk mutation (each row's problem shown by it), and a CSV import whose
// progress is polled from importJob.
import { useEffect, useState } from "preact/hooks";
import { html, gql, money, newKey, config, session } from "../shared/client.js";
import { Problems } from "../shared/ui.js";

function ImportForm() {
  const [file, setFile] = useState(null);
  const [job, setJob] = useState(null);
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    if (!job || job.status !== "RUNNING") return undefined;
    const timer = setTimeout(async () => {
      const { importJob } = await gql("ImportJob", { id: job.id });
      if (importJob) setJob(importJob);
    }, 500);
    return () => clearTimeout(timer);
  }, [job]);
  const upload = async (event) => {
    event.preventDefault();
    setProblem(null);
    const url = `${config.graphql.replace(/\/graphql$/, "")}/admin/imports/prices?fileName=${encodeURIComponent(file.name)}`;
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "text/csv", authorization: `Bearer ${session().token}` },
      body: file,
    });
    const body = await response.json();
    if (!response.ok) { setProblem(body.errors?.[0]?.message || `HTTP ${response.status}`); return; }
    const { importJob } = await gql("ImportJob", { id: body.job.id });
    setJob(importJob || body.job);
  };
  return html`<form class="import-form" onSubmit=${upload} aria-labelledby="import-h">
    <h2 id="import-h">Import a price file</h2>
    <p class="muted">CSV with the columns <code>sku,list,sale</code> (SKU codes); the same file twice applies nothing twice.</p>
    <div class="row"><label for="price-file">CSV file</label>
      <input id="price-file" type="file" accept=".csv,text/csv" required onChange=${(e) => setFile(e.target.files[0] || null)} />
      <button type="submit" disabled=${!file}>Upload</button></div>
    ${problem && html`<p class="error" role="alert">${problem}</p>`}
    ${job && html`<div class="import-job" role="status" aria-live="polite">
      <strong>${job.fileName}</strong> <span class="tag">${job.status}</span>
      ${job.processed} rows read${job.applied !== undefined ? `, ${job.applied} applied` : ""}, ${job.failed} refused
      ${job.message && html`<div>${job.message}</div>`}
      ${job.errors && job.errors.totalCount > 0 && html`<ul class="problems">${job.errors.edges.map(({ node: e }) =>
        html`<li>line ${e.line}${e.field ? ` (${e.field})` : ""}: ${e.message}</li>`)}</ul>`}
    </div>`}
  </form>`;
}

export function PricesPage() {
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState({ text: "", tick: 0 });
  const [rows, setRows] = useState([]);
  const [edits, setEdits] = useState({});
  const [results, setResults] = useState({});
  const [problems, setProblems] = useState([]);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    const filter = query.text ? { search: query.text } : null;
    const { products } = await gql("StaffPrices", { first: 20, filter });
    setRows(products.edges.flatMap(({ node }) => node.skus.map((sku) => ({ product: node.name, sku }))));
  };
  useEffect(() => { load(); }, [query]);
  const edit = (id, field, value) => setEdits({ ...edits, [id]: { ...edits[id], [field]: value } });
  const save = async (event) => {
    event.preventDefault();
    const items = Object.entries(edits).map(([skuId, e]) => {
      const row = rows.find((r) => r.sku.id === skuId);
      return { skuId, list: e.list ?? row.sku.price.list.amount, sale: e.sale ?? row.sku.price.sale.amount };
    });
    if (!items.length) return;
    setBusy(true);
    const { priceSetBulk } = await gql("PriceSetBulk", { items, idempotencyKey: newKey("prices") });
    setBusy(false);
    setProblems(priceSetBulk.userErrors);
    const byId = Object.fromEntries((priceSetBulk.results || []).map((r) => [r.skuId, r]));
    setResults(byId);
    setEdits(Object.fromEntries(Object.entries(edits).filter(([id]) => !byId[id]?.applied)));
    await load();
  };
  return html`<h1>Prices</h1>
    <form class="filters" role="search" onSubmit=${(e) => {
      e.preventDefault();
      setEdits({}); // a fresh list from the API: unsaved edits are dropped
      setResults({});
      setQuery({ text: search.trim(), tick: query.tick + 1 });
    }}>
      <div class="field"><label for="price-search">Products matching</label>
        <input id="price-search" type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} /></div>
      <button type="submit" class="secondary">Find</button>
    </form>
    <form onSubmit=${save} aria-label="Edit prices">
      <div class="table-wrap"><table class="prices">
        <thead><tr><th scope="col">SKU</th><th scope="col">List</th><th scope="col">Sale</th><th scope="col"></th></tr></thead>
        <tbody>${rows.map(({ product, sku }) => html`<tr data-code=${sku.code}>
          <td>${product}<div class="muted">${sku.name} · ${sku.code}</div></td>
          <td><label class="visually-hidden" for=${`list-${sku.id}`}>List price of ${sku.code}</label>
            <input id=${`list-${sku.id}`} inputmode="decimal" size="8" value=${edits[sku.id]?.list ?? sku.price.list.amount}
              onInput=${(e) => edit(sku.id, "list", e.target.value)} /></td>
          <td><label class="visually-hidden" for=${`sale-${sku.id}`}>Sale price of ${sku.code}</label>
            <input id=${`sale-${sku.id}`} inputmode="decimal" size="8" value=${edits[sku.id]?.sale ?? sku.price.sale.amount}
              onInput=${(e) => edit(sku.id, "sale", e.target.value)} /></td>
          <td>${results[sku.id]?.applied && html`<span class="tag good">saved</span>`}
            <${Problems} problems=${results[sku.id]?.userErrors || []} /></td>
        </tr>`)}</tbody>
      </table></div>
      <${Problems} problems=${problems} />
      <p><button type="submit" disabled=${busy || Object.keys(edits).length === 0}>Save ${Object.keys(edits).length || ""} changes</button></p>
    </form>
    <${ImportForm} />`;
}
