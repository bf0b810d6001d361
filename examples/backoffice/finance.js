// Shipments due (parcels whose ship-by promise falls in the next days, overdue flagged)
// and the settlement of a period (sales, discounts, refunds, cost and margin).
import { useState } from "preact/hooks";
import { html, gql, money, when } from "../shared/client.js";
import { useQuery, Loading } from "../shared/ui.js";

const DAY_MS = 86_400_000;
const isoDay = (date) => date.toISOString().slice(0, 10);

export function ShipmentsDuePage() {
  const [days, setDays] = useState(3);
  const [source, setSource] = useState("");
  const before = new Date(Date.now() + Number(days || 0) * DAY_MS).toISOString();
  const state = useQuery(
    () => gql("ShipmentsDue", { before, source: source || null, first: 50 }),
    `${days}|${source}`,
  );
  return html`<h1>Shipments due</h1>
    <div class="filters">
      <div class="field"><label for="due-days">Due within (days)</label>
        <input id="due-days" type="number" min="0" max="60" value=${days} style="width:6em" onChange=${(e) => setDays(e.target.value)} /></div>
      <div class="field"><label for="due-source">Source (warehouse code or supplier:id)</label>
        <input id="due-source" value=${source} onChange=${(e) => setSource(e.target.value.trim())} /></div>
    </div>
    <${Loading} state=${state}>${({ shipmentsDue }) => html`<p class="muted">${shipmentsDue.totalCount} parcels</p>
      <div class="table-wrap"><table class="shipments-due">
        <thead><tr><th scope="col">Order</th><th scope="col">From</th><th scope="col">Ship by</th><th scope="col">Items</th></tr></thead>
        <tbody>${shipmentsDue.edges.map(({ node: s }) => html`<tr class=${s.overdue ? "overdue" : ""}>
          <td><a href=${`#/order/${encodeURIComponent(s.order.id)}`}>${s.order.number}</a></td><td>${s.source}</td>
          <td>${when(s.shipBy)}${s.overdue ? html` <span class="tag bad">overdue</span>` : ""}</td>
          <td>${s.items.map((i) => `${i.quantity} × ${i.line.productName}`).join(", ")}</td></tr>`)}</tbody>
      </table></div>`}<//>`;
}

function Figures({ figures }) {
  const rows = [
    ["Gross sales", figures.grossSales], ["Discounts", figures.discounts], ["Net sales", figures.netSales],
    ["Shipping", figures.shipping], ["Refunds", figures.refunds], ["Cost of goods", figures.costOfGoods],
    ["Margin", figures.margin], ["Paid", figures.paid],
  ];
  return html`<dl class="totals">${rows.map(([label, value]) => html`<dt>${label}</dt><dd>${money(value)}</dd>`)}</dl>`;
}

export function SettlementPage() {
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 30 * DAY_MS)));
  const [to, setTo] = useState(isoDay(new Date(today.getTime() + DAY_MS)));
  const [period, setPeriod] = useState({ from, to });
  const state = useQuery(
    () => gql("Settlement", { from: `${period.from}T00:00:00Z`, to: `${period.to}T00:00:00Z` }),
    `${period.from}|${period.to}`,
  );
  return html`<h1>Settlement</h1>
    <form class="filters" onSubmit=${(e) => { e.preventDefault(); setPeriod({ from, to }); }}>
      <div class="field"><label for="from">From</label><input id="from" type="date" required value=${from} onInput=${(e) => setFrom(e.target.value)} /></div>
      <div class="field"><label for="to">To (exclusive)</label><input id="to" type="date" required value=${to} onInput=${(e) => setTo(e.target.value)} /></div>
      <button type="submit">Show</button>
    </form>
    <${Loading} state=${state}>${({ settlement }) => !settlement ? html`<p>Your account cannot see finance.</p>` : html`
      <h2>Totals (${settlement.currency})</h2><${Figures} figures=${settlement.totals} />
      ${settlement.skusWithoutCost.length > 0 && html`<p class="notice warn">${settlement.skusWithoutCost.length} SKUs have no cost price: their margin is not counted.</p>`}
      <h2>By order</h2>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Order</th><th scope="col">Status</th><th scope="col">Net sales</th><th scope="col">Refunds</th><th scope="col">Margin</th></tr></thead>
        <tbody>${settlement.orders.map((o) => html`<tr><td>${o.order.number}</td><td>${o.order.status}</td>
          <td>${money(o.figures.netSales)}</td><td>${money(o.figures.refunds)}</td><td>${money(o.figures.margin)}</td></tr>`)}</tbody>
      </table></div>`}<//>`;
}
