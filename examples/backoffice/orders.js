// Orders: the queue (by status, newest first, "load more"), and one order's composed view
// with the actions staff take: mark paid, ship a parcel, deliver it, complete a service.
import { useEffect, useState } from "preact/hooks";
import { html, gql, money, when } from "../shared/client.js";
import { useQuery, Loading, Problems } from "../shared/ui.js";
import { ResolveForm } from "./aftersales.js";

const STATUSES = ["PENDING_PAYMENT", "PAID", "PARTIALLY_SHIPPED", "SHIPPED", "COMPLETED", "CANCELLED"];

export function OrdersQueue() {
  const [status, setStatus] = useState("");
  const [pages, setPages] = useState({ edges: [], page: null, error: null });
  const load = async (after, reset) => {
    try {
      const { orders } = await gql("StaffOrders", { first: 20, after, status: status || null });
      setPages((p) => ({ edges: [...(reset ? [] : p.edges), ...orders.edges], page: orders, error: null }));
    } catch (error) {
      setPages((p) => ({ ...p, error }));
    }
  };
  useEffect(() => { load(null, true); }, [status]);
  return html`<h1>Orders</h1>
    <div class="filters"><div class="field"><label for="status">Status</label>
      <select id="status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
        <option value="">Any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></div></div>
    ${pages.error && html`<p class="error" role="alert">${pages.error.message}</p>`}
    ${pages.page && html`<p class="muted">${pages.page.totalCount} orders</p>
      <div class="table-wrap"><table class="orders">
        <thead><tr><th scope="col">Order</th><th scope="col">Status</th><th scope="col">Customer</th><th scope="col">Total</th><th scope="col">Placed</th></tr></thead>
        <tbody>${pages.edges.map(({ node: o }) => html`<tr data-number=${o.number}>
          <td><a href=${`#/order/${encodeURIComponent(o.id)}`}>${o.number}</a>
            ${o.afterSalesRequests.some((r) => r.status === "OPEN") && html` <span class="tag warn">after-sales</span>`}</td>
          <td><span class="tag">${o.status}</span></td><td>${o.customer?.name}<div class="muted">${o.customer?.email}</div></td>
          <td>${money(o.cost.total)}</td><td>${when(o.createdAt)}</td></tr>`)}</tbody>
      </table></div>
      ${pages.page.pageInfo.hasNextPage && html`<p><button type="button" onClick=${() => load(pages.page.pageInfo.endCursor, false)}>Load more</button></p>`}`}`;
}

function ShipForm({ shipment, onDone }) {
  const [carrier, setCarrier] = useState("SF Express");
  const [tracking, setTracking] = useState("");
  const [problems, setProblems] = useState([]);
  const submit = async (event) => {
    event.preventDefault();
    const { shipmentMarkShipped } = await gql("ShipmentMarkShipped", { shipmentId: shipment.id, carrier, trackingNumber: tracking });
    setProblems(shipmentMarkShipped.userErrors);
    if (shipmentMarkShipped.shipment) onDone();
  };
  return html`<form class="row ship-form" onSubmit=${submit} aria-label=${`Ship parcel from ${shipment.source}`}>
    <div class="field"><label for=${`carrier-${shipment.id}`}>Carrier</label>
      <input id=${`carrier-${shipment.id}`} required value=${carrier} onInput=${(e) => setCarrier(e.target.value)} /></div>
    <div class="field"><label for=${`tracking-${shipment.id}`}>Tracking number</label>
      <input id=${`tracking-${shipment.id}`} required value=${tracking} onInput=${(e) => setTracking(e.target.value)} /></div>
    <button type="submit">Mark shipped</button>
    <${Problems} problems=${problems} />
  </form>`;
}

export function StaffOrderPage({ id }) {
  const state = useQuery(() => gql("StaffOrder", { id }), id);
  const [problems, setProblems] = useState([]);
  const act = async (name, variables, field) => {
    const payload = (await gql(name, variables))[field];
    setProblems(payload.userErrors);
    state.reload();
  };
  return html`<${Loading} state=${state}>${({ order }) => !order ? html`<h1>Not found</h1>` : html`
    <p><a href="#/">← Orders</a></p>
    <h1>Order ${order.number} <span class="tag order-status">${order.status}</span></h1>
    <${Problems} problems=${problems} />
    <div class="two">
      <section aria-labelledby="lines-h">
        <h2 id="lines-h">Lines</h2>
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Item</th><th scope="col">Qty</th><th scope="col">Total</th><th scope="col">Stock by warehouse</th></tr></thead>
          <tbody>${order.lines.map((l) => html`<tr><td>${l.productName}<div class="muted">${l.sku.code}</div></td><td>${l.quantity}</td><td>${money(l.total)}</td>
            <td>${(l.sku.stock.warehouses || []).map((w) => html`<div>${w.warehouseCode}: ${w.available} free (${w.onHand} on hand)</div>`)}</td></tr>`)}</tbody>
        </table></div>
        <dl class="totals">
          <dt>Subtotal</dt><dd>${money(order.cost.subtotal)}</dd><dt>Discounts</dt><dd>−${money(order.cost.discountTotal)}</dd>
          <dt>Shipping</dt><dd>${money(order.cost.shippingTotal)}</dd><dt class="total">Total</dt><dd class="total">${money(order.cost.total)}</dd>
        </dl>
        <h2>Parcels</h2>
        ${order.shipments.length === 0 && html`<p class="muted">None yet: parcels are made when the order is paid.</p>`}
        <ul class="lines">${order.shipments.map((s) => html`<li class="shipment" data-status=${s.status}>
          <strong>${s.source}</strong> <span class="tag">${s.status}</span>${s.overdue ? html` <span class="tag bad">overdue</span>` : ""}
          <div class="muted">${s.items.map((i) => `${i.quantity} × ${i.line.productName}`).join(", ")}${s.shipBy ? ` · ship by ${when(s.shipBy)}` : ""}</div>
          ${s.trackingNumber && html`<div>${s.carrier} ${s.trackingNumber}</div>`}
          ${s.status === "PENDING" && order.status !== "PENDING_PAYMENT" && html`<${ShipForm} shipment=${s} onDone=${state.reload} />`}
          ${s.status === "SHIPPED" && html`<button type="button" onClick=${() => act("ShipmentMarkDelivered", { shipmentId: s.id }, "shipmentMarkDelivered")}>Mark delivered</button>`}
        </li>`)}</ul>
        ${order.serviceAppointments.length > 0 && html`<h2>Service appointments</h2><ul>${order.serviceAppointments.map((a) => html`<li>
          ${a.line.productName} <span class="tag">${a.status}</span>
          ${a.status !== "COMPLETED" && html`<button type="button" onClick=${() => act("ServiceAppointmentComplete", { appointmentId: a.id }, "serviceAppointmentComplete")}>Complete</button>`}</li>`)}</ul>`}
      </section>
      <aside>
        <h2>Customer</h2><p>${order.customer?.name}<br /><span class="muted">${order.customer?.email}</span></p>
        ${order.shippingAddress && html`<p class="muted">${order.shippingAddress.name}, ${order.shippingAddress.phone}<br />${order.shippingAddress.line1}, ${order.shippingAddress.city} ${order.shippingAddress.region}</p>`}
        <h2>Payments</h2>
        ${order.payments.length === 0 ? html`<p class="muted">None yet.</p>` : html`<ul>${order.payments.map((p) => html`<li>${p.stage} ${money(p.amount)} · ${p.provider} · ${when(p.at)}</li>`)}</ul>`}
        ${order.status === "PENDING_PAYMENT" && html`<button type="button" class="mark-paid" onClick=${() => act("OrderMarkPaid", { orderId: order.id }, "orderMarkPaid")}>Mark paid</button>`}
        ${order.refunds.length > 0 && html`<h2>Refunds</h2><ul>${order.refunds.map((r) => html`<li>${money(r.amount)} <span class="tag">${r.status}</span></li>`)}</ul>`}
        <h2>After-sales</h2>
        ${order.afterSalesRequests.length === 0 ? html`<p class="muted">None.</p>` : order.afterSalesRequests.map((r) => html`<div class="card after-sales" data-status=${r.status}>
          <span class="tag">${r.kind}</span> <span class="tag">${r.status}</span>${r.overdue ? html` <span class="tag bad">overdue</span>` : ""}
          <div>${r.items.map((i) => `${i.quantity} × ${i.line.productName} (${money(i.refundAmount)})`).join(", ")}</div>
          <div class="muted">“${r.reason}”</div>
          ${r.refundAmount && html`<div>Refund ${money(r.refundAmount)}</div>`}
          <${ResolveForm} request=${r} onDone=${state.reload} />
        </div>`)}
        <h2>History</h2>
        <ol class="muted">${order.statusHistory.map((c) => html`<li>${c.fromStatus || "—"} → ${c.toStatus} · ${c.actor} · ${when(c.at)}</li>`)}</ol>
      </aside>
    </div>`}<//>`;
}
