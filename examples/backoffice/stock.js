// Low stock: SKUs under a threshold, lowest first, with a stock adjustment per warehouse.
import { useState } from "preact/hooks";
import { html, gql, newKey } from "../shared/client.js";
import { useQuery, Loading, Problems } from "../shared/ui.js";

function AdjustForm({ sku, onDone }) {
  const warehouses = sku.stock.warehouses || [];
  const [warehouse, setWarehouse] = useState(warehouses[0]?.warehouseCode || "");
  const [delta, setDelta] = useState("10");
  const [reason, setReason] = useState("Restock");
  const [problems, setProblems] = useState([]);
  const [key] = useState(() => newKey("adjust"));
  const submit = async (event) => {
    event.preventDefault();
    const { stockAdjust } = await gql("StockAdjust", {
      skuId: sku.id, warehouseCode: warehouse, delta: Number(delta), reason, idempotencyKey: `${key}-${warehouse}-${delta}`,
    });
    setProblems(stockAdjust.userErrors);
    if (stockAdjust.sku) onDone();
  };
  const prefix = `adj-${sku.id}`;
  return html`<form class="row adjust-form" onSubmit=${submit} aria-label=${`Adjust stock of ${sku.code}`}>
    <div class="field"><label for=${`${prefix}-wh`}>Warehouse</label>
      <select id=${`${prefix}-wh`} value=${warehouse} onChange=${(e) => setWarehouse(e.target.value)}>
        ${warehouses.map((w) => html`<option value=${w.warehouseCode}>${w.warehouseCode}</option>`)}</select></div>
    <div class="field"><label for=${`${prefix}-delta`}>Change (±)</label>
      <input id=${`${prefix}-delta`} type="number" required value=${delta} style="width:6em" onInput=${(e) => setDelta(e.target.value)} /></div>
    <div class="field"><label for=${`${prefix}-reason`}>Reason</label>
      <input id=${`${prefix}-reason`} required value=${reason} onInput=${(e) => setReason(e.target.value)} /></div>
    <button type="submit">Adjust</button>
    <${Problems} problems=${problems} />
  </form>`;
}

export function LowStockPage() {
  const [threshold, setThreshold] = useState(10);
  const state = useQuery(() => gql("LowStock", { threshold: Number(threshold) || 0, first: 30 }), threshold);
  return html`<h1>Low stock</h1>
    <div class="filters"><div class="field"><label for="threshold">Available under</label>
      <input id="threshold" type="number" min="0" value=${threshold} style="width:6em" onChange=${(e) => setThreshold(e.target.value)} /></div></div>
    <${Loading} state=${state}>${({ lowStock }) => !lowStock ? html`<p>Your account cannot see stock.</p>` : html`
      <p class="muted">${lowStock.totalCount} SKUs</p>
      <ul class="lines">${lowStock.edges.map(({ node, available }) => html`<li class="low-stock" data-code=${node.code}>
        <strong>${node.product.name}</strong> <span class="muted">${node.name} · ${node.code}</span>
        <div><span class="tag ${available > 0 ? "warn" : "bad"}">${available} available</span>
          ${(node.stock.warehouses || []).map((w) => html`<span class="tag">${w.warehouseCode}: ${w.available}/${w.onHand}</span>`)}</div>
        <${AdjustForm} sku=${node} onDone=${state.reload} />
      </li>`)}</ul>`}<//>`;
}
