// The buyer's orders: confirmation, "my orders" with parcels and tracking, and after-sales
// (ask to return a line, see the request and its refund).
import { useState } from "preact/hooks";
import { html, gql, money, when, session } from "../shared/client.js";
import { useQuery, useSession, Loading, Problems } from "../shared/ui.js";

const STATUS = {
  PENDING_PAYMENT: "Awaiting payment", PAID: "Paid", PARTIALLY_SHIPPED: "Partly shipped",
  SHIPPED: "Shipped", COMPLETED: "Completed", CANCELLED: "Cancelled",
};

function ReturnForm({ order, onDone }) {
  const [quantities, setQuantities] = useState({});
  const [reason, setReason] = useState("");
  const [problems, setProblems] = useState([]);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const lines = Object.entries(quantities)
      .filter(([, q]) => Number(q) > 0)
      .map(([orderLineId, q]) => ({ orderLineId, quantity: Number(q) }));
    setBusy(true);
    const { afterSalesRequestCreate } = await gql("AfterSalesRequestCreate", {
      input: { orderId: order.id, kind: "RETURN", lines, reason },
    });
    setBusy(false);
    setProblems(afterSalesRequestCreate.userErrors);
    if (afterSalesRequestCreate.request) onDone();
  };
  return html`<form class="return-form" onSubmit=${submit} aria-label=${`Return items of order ${order.number}`}>
    <fieldset><legend>Ask to return</legend>
      ${order.lines.map((line) => html`<div class="field">
        <label for=${`ret-${line.id}`}>${line.productName} (bought ${line.quantity})</label>
        <input id=${`ret-${line.id}`} type="number" min="0" max=${line.quantity} value=${quantities[line.id] || 0} style="width:6em"
          onInput=${(e) => setQuantities({ ...quantities, [line.id]: e.target.value })} />
        <${Problems} problems=${problems.filter((p) => p.lineId === line.id)} />
      </div>`)}
      <div class="field"><label for=${`reason-${order.id}`}>Reason</label>
        <input id=${`reason-${order.id}`} required value=${reason} onInput=${(e) => setReason(e.target.value)} /></div>
      <${Problems} problems=${problems.filter((p) => !p.lineId)} />
      <button type="submit" disabled=${busy}>Send the request</button>
    </fieldset>
  </form>`;
}

export function OrderView({ order, onChange }) {
  const [returning, setReturning] = useState(false);
  const canReturn = ["PAID", "SHIPPED", "COMPLETED", "PARTIALLY_SHIPPED"].includes(order.status);
  return html`<article class="card order" data-number=${order.number}>
    <h2>Order ${order.number} <span class="tag status">${STATUS[order.status] || order.status}</span></h2>
    <p class="muted">Placed ${when(order.createdAt)}${order.paymentDueBy && order.status === "PENDING_PAYMENT" ? ` · pay by ${when(order.paymentDueBy)}` : ""}</p>
    <div class="table-wrap"><table>
      <caption class="visually-hidden">Lines</caption>
      <thead><tr><th scope="col">Item</th><th scope="col">Qty</th><th scope="col">Price</th><th scope="col">Total</th></tr></thead>
      <tbody>${order.lines.map((l) => html`<tr><td>${l.productName}<div class="muted">${l.sku.name}</div></td>
        <td>${l.quantity}</td><td>${money(l.unitPrice)}</td><td>${money(l.total)}</td></tr>`)}</tbody>
    </table></div>
    <dl class="totals">
      <dt>Subtotal</dt><dd>${money(order.cost.subtotal)}</dd>
      <dt>Discounts</dt><dd>−${money(order.cost.discountTotal)}</dd>
      <dt>Shipping</dt><dd>${money(order.cost.shippingTotal)}</dd>
      <dt class="total">Total</dt><dd class="total order-total">${money(order.cost.total)}</dd>
    </dl>
    ${order.shipments.length > 0 && html`<h3>Parcels</h3><ul class="shipments">${order.shipments.map((s) => html`<li>
      <span class="tag">${s.status}</span> ${s.items.map((i) => `${i.quantity} × ${i.line.productName}`).join(", ")}
      ${s.trackingNumber && html`<div class="tracking">${s.carrier} · tracking <strong>${s.trackingNumber}</strong>${s.shippedAt ? ` · shipped ${when(s.shippedAt)}` : ""}${s.deliveredAt ? ` · delivered ${when(s.deliveredAt)}` : ""}</div>`}
    </li>`)}</ul>`}
    ${order.afterSalesRequests.length > 0 && html`<h3>After-sales</h3><ul class="after-sales">${order.afterSalesRequests.map((r) => html`<li>
      <span class="tag">${r.kind}</span> <span class="tag after-sales-status">${r.status}</span>
      ${r.items.map((i) => `${i.quantity} × ${i.line.productName}`).join(", ")} — “${r.reason}”
      ${r.refundAmount && html`<div>Refund: <strong class="refund-amount">${money(r.refundAmount)}</strong></div>`}
      ${r.resolutionNote && html`<div class="muted">${r.resolutionNote}</div>`}
    </li>`)}</ul>`}
    ${order.refunds.length > 0 && html`<h3>Refunds</h3><ul class="refunds">${order.refunds.map((r) => html`<li>
      <strong class="refund">${money(r.amount)}</strong> <span class="tag">${r.status}</span> ${when(r.createdAt)}</li>`)}</ul>`}
    ${canReturn && !returning && html`<button type="button" class="secondary" onClick=${() => setReturning(true)}>Return items</button>`}
    ${returning && html`<${ReturnForm} order=${order} onDone=${() => { setReturning(false); onChange(); }} />`}
  </article>`;
}

export function OrderPage({ id, confirmed }) {
  const state = useQuery(() => gql("Order", { id }), id);
  return html`<${Loading} state=${state}>${({ order }) => order
    ? html`${confirmed && html`<h1>Thank you!</h1><p class="notice confirmation" role="status">Your order <strong>${order.number}</strong> is placed.
        <a href="#/orders">See my orders</a></p>`}
      <${OrderView} order=${order} onChange=${state.reload} />`
    : html`<h1>Not found</h1><p>No such order for this account.</p>`}<//>`;
}

export function MyOrders() {
  const signedIn = useSession(session);
  const state = useQuery(() => gql("MyOrders", { first: 20 }), signedIn?.token || "");
  if (!signedIn) return html`<h1>My orders</h1><p><a href="#/signin?next=%23%2Forders">Sign in</a> to see your orders.</p>`;
  return html`<h1>My orders</h1>
    <${Loading} state=${state}>${({ viewer }) => viewer.orders.edges.length === 0
      ? html`<p>No orders yet.</p>`
      : html`<p class="muted">${viewer.orders.totalCount} ${viewer.orders.totalCount === 1 ? "order" : "orders"}</p>${viewer.orders.edges.map((e) => html`<${OrderView} key=${e.node.id} order=${e.node} onChange=${state.reload} />`)}`}<//>`;
}
