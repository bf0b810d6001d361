// The cart: lines and quantities, coupons, the shipping address (regions from the API),
// every problem next to the line or field it concerns, and checkout with one idempotency
// key per attempt.
import { useEffect, useState } from "preact/hooks";
import { html, gql, money, newKey, session, when } from "../shared/client.js";
import { Field, Problems, useSession } from "../shared/ui.js";
import { cartId, forgetCart } from "./cart-store.js";

const ADDRESS_FIELDS = ["name", "phone", "region", "city", "line1", "postalCode"];

const lineProblems = (problems, line) => problems.filter((p) => p.lineId === line.id);
const fieldProblems = (problems, name) =>
  problems.filter((p) => !p.lineId && (p.field || []).at(-1) === name);
const couponProblems = (problems) =>
  problems.filter((p) => !p.lineId && (p.code.startsWith("COUPON_") || (p.field || []).includes("couponCodes")));
const addressProblems = (problems) =>
  problems.filter((p) => !p.lineId && ["SHIPPING_ADDRESS_REQUIRED", "REGION_NOT_DELIVERABLE", "SERVICE_AREA_UNAVAILABLE"].includes(p.code));

function Line({ line, problems, onQuantity, onRemove, busy }) {
  const id = `qty-${line.id}`;
  return html`<li class="cart-line" data-sku=${line.sku.code}>
    <div class="row" style="justify-content:space-between">
      <div><a href=${`#/p/${line.sku.product.slug}`}><strong>${line.sku.product.name}</strong></a>
        <div class="muted">${line.sku.name} · ${line.sku.code} · ${money(line.unitPrice)} each</div>
        ${line.discounts.map((d) => html`<div class="sale">−${money(d.amount)} ${d.promotion.name}</div>`)}
        ${line.reservedUntil && html`<div class="tag warn held">Held for you until ${when(line.reservedUntil)}</div>`}
      </div>
      <div class="price line-total">${money(line.total)}</div>
    </div>
    <div class="row">
      <label for=${id}>Quantity</label>
      <input id=${id} type="number" min="1" value=${line.quantity} style="width:5em" disabled=${busy}
        aria-invalid=${problems.length ? "true" : "false"}
        onChange=${(e) => onQuantity(line, Number(e.target.value))} />
      <button type="button" class="secondary" onClick=${() => onRemove(line)} disabled=${busy}
        aria-label=${`Remove ${line.sku.product.name}`}>Remove</button>
    </div>
    <${Problems} problems=${problems} />
  </li>`;
}

function Coupons({ cart, problems, apply, busy }) {
  const [code, setCode] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    if (!code.trim()) return;
    if (await apply([...cart.couponCodes, code.trim().toUpperCase()])) setCode("");
  };
  return html`<form onSubmit=${submit} aria-labelledby="coupon-heading">
    <h2 id="coupon-heading">Coupons</h2>
    ${cart.couponCodes.map((c) => html`<span class="tag coupon">${c}
      <button type="button" class="secondary" style="min-height:auto;padding:0 6px;margin-left:4px"
        aria-label=${`Remove coupon ${c}`} onClick=${() => apply(cart.couponCodes.filter((x) => x !== c))}>×</button></span>`)}
    <div class="row">
      <label for="coupon" class="visually-hidden">Coupon code</label>
      <input id="coupon" placeholder="Coupon code" value=${code} onInput=${(e) => setCode(e.target.value)}
        aria-invalid=${problems.length ? "true" : "false"} aria-describedby="coupon-problems" />
      <button type="submit" class="secondary" disabled=${busy}>Apply</button>
    </div>
    <${Problems} problems=${problems} id="coupon-problems" />
  </form>`;
}

function AddressForm({ cart, problems, save, busy }) {
  const [regions, setRegions] = useState([]);
  const current = cart.shippingAddress || {};
  const [address, setAddress] = useState(
    Object.fromEntries(ADDRESS_FIELDS.map((f) => [f, current[f] || ""])),
  );
  useEffect(() => { gql("ShippingRegions").then((d) => setRegions(d.shippingRegions)); }, []);
  const set = (name) => (value) => setAddress({ ...address, [name]: value });
  const submit = (event) => {
    event.preventDefault();
    const region = regions.find((r) => r.code === address.region);
    save({ ...address, country: region ? region.country : "CN", postalCode: address.postalCode || null });
  };
  const regionProblems = fieldProblems(problems, "region");
  const formProblems = problems.filter((p) => !ADDRESS_FIELDS.includes((p.field || []).at(-1)));
  return html`<form onSubmit=${submit} aria-labelledby="address-heading" class="address-form">
    <h2 id="address-heading">Shipping address</h2>
    ${cart.shippingAddress && html`<p class="muted saved-address" role="status">${`Ships to ${cart.shippingAddress.name}, ${cart.shippingAddress.line1}, ${cart.shippingAddress.city} (${cart.shippingAddress.region})`}</p>`}
    <${Problems} problems=${formProblems} id="address-problems" />
    <${Field} label="Recipient" name="name" value=${address.name} onInput=${set("name")} required autocomplete="name" problems=${fieldProblems(problems, "name")} />
    <${Field} label="Mobile phone" name="phone" type="tel" value=${address.phone} onInput=${set("phone")} required autocomplete="tel" inputmode="tel" problems=${fieldProblems(problems, "phone")} />
    <div class="field">
      <label for="field-region">Region <span aria-hidden="true">*</span></label>
      <select id="field-region" name="region" required value=${address.region} onChange=${(e) => set("region")(e.target.value)}
        aria-invalid=${regionProblems.length ? "true" : "false"} aria-describedby="field-region-problems">
        <option value="">Choose a region</option>
        ${regions.map((r) => html`<option value=${r.code}>${r.name}${r.isDeliverable ? (r.shippingRate ? ` — shipping ${money(r.shippingRate)}` : "") : " — no delivery"}</option>`)}
      </select>
      <${Problems} problems=${regionProblems} id="field-region-problems" />
    </div>
    <${Field} label="City" name="city" value=${address.city} onInput=${set("city")} required autocomplete="address-level2" problems=${fieldProblems(problems, "city")} />
    <${Field} label="Street address" name="line1" value=${address.line1} onInput=${set("line1")} required autocomplete="street-address" problems=${fieldProblems(problems, "line1")} />
    <${Field} label="Postal code (optional)" name="postalCode" value=${address.postalCode} onInput=${set("postalCode")} autocomplete="postal-code" inputmode="numeric" problems=${fieldProblems(problems, "postalCode")} />
    <button type="submit" class="secondary" disabled=${busy}>Save address</button>
  </form>`;
}

// 凑单: what would unlock a promotion the cart misses, in the API's own words; a coupon
// hint applies its code in one click.
function Hints({ cart, apply, busy }) {
  if (cart.promotionHints.length === 0) return null;
  return html`<section aria-labelledby="hints-heading" class="promotion-hints">
    <h2 id="hints-heading">Save more</h2>
    <ul>${cart.promotionHints.map((h) => html`<li data-kind=${h.kind}>${h.message}
      ${h.couponCode && !cart.couponCodes.includes(h.couponCode) && html` <button type="button" class="secondary"
        disabled=${busy} onClick=${() => apply([...cart.couponCodes, h.couponCode])}>Use ${h.couponCode}</button>`}</li>`)}</ul>
  </section>`;
}

function Totals({ cost }) {
  return html`<dl class="totals" aria-label="Totals">
    <dt>Subtotal</dt><dd class="subtotal">${money(cost.subtotal)}</dd>
    <dt>Discounts</dt><dd class="discount-total">−${money(cost.discountTotal)}</dd>
    <dt>Shipping</dt><dd class="shipping-total">${money(cost.shippingTotal)}</dd>
    <dt class="total">Total</dt><dd class="total cart-total">${money(cost.total)}</dd>
    ${cost.depositDue && html`<dt>Deposit due now</dt><dd>${money(cost.depositDue)}</dd>`}
  </dl>`;
}

export function CartPage() {
  const signedIn = useSession(session);
  const [cart, setCart] = useState(null);
  const [loading, setLoading] = useState(true);
  const [busy, setBusy] = useState(false);
  const [mutationProblems, setMutationProblems] = useState([]);
  const [checkoutProblems, setCheckoutProblems] = useState([]);
  const [priceChanged, setPriceChanged] = useState(null);
  const [attemptKey, setAttemptKey] = useState(null);

  useEffect(() => {
    const id = cartId();
    if (!id) { setLoading(false); return; }
    gql("Cart", { id }).then((d) => { setCart(d.cart); setLoading(false); });
  }, []);

  // One mutation on the cart; its userErrors are kept to show by line or field.
  const change = async (name, variables, field) => {
    setBusy(true);
    setCheckoutProblems([]);
    try {
      const payload = (await gql(name, { cartId: cart.id, ...variables }))[field];
      if (payload.cart) setCart(payload.cart);
      setMutationProblems(payload.userErrors);
      return payload.userErrors.length === 0;
    } catch (error) {
      setMutationProblems([{ code: error.code || "NETWORK", message: error.message }]);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const placeOrder = async () => {
    setBusy(true);
    setPriceChanged(null);
    // A new attempt gets a new key; a retry after a lost answer (network error) keeps it.
    const key = attemptKey || newKey("shop");
    setAttemptKey(key);
    try {
      const { checkoutComplete } = await gql("CheckoutComplete", {
        cartId: cart.id, idempotencyKey: key, expectedTotal: cart.cost.total.amount,
      });
      setAttemptKey(null);
      if (checkoutComplete.order) {
        forgetCart();
        location.hash = `#/order/${encodeURIComponent(checkoutComplete.order.id)}?placed`;
        return;
      }
      setCheckoutProblems(checkoutComplete.userErrors);
      const fresh = (await gql("Cart", { id: cart.id })).cart;
      if (checkoutComplete.userErrors.some((e) => e.code === "PRICE_CHANGED")) {
        setPriceChanged({ was: cart.cost.total, now: fresh.cost.total });
      }
      setCart(fresh);
    } catch (error) {
      setCheckoutProblems([{ code: "NETWORK", message: `${error.message} — try again (the same attempt is not placed twice)` }]);
    } finally {
      setBusy(false);
    }
  };

  if (loading) return html`<p class="loading" aria-busy="true">Loading…</p>`;
  if (!cart || cart.lines.length === 0) {
    return html`<h1>Your cart</h1><p>Your cart is empty. <a href="#/">Browse the shop</a>.</p>`;
  }
  const all = [...mutationProblems, ...checkoutProblems.filter((p) => p.code !== "PRICE_CHANGED"), ...cart.validation.errors];
  const unique = all.filter((p, i) => all.findIndex((q) => q.code === p.code && q.lineId === p.lineId && q.message === p.message) === i);
  const shown = new Set();
  const take = (list) => { list.forEach((p) => shown.add(p)); return list; };
  const lines = cart.lines.map((line) => ({ line, problems: take(lineProblems(unique, line)) }));
  const coupons = take(couponProblems(unique));
  const address = take([...addressProblems(unique), ...unique.filter((p) => !p.lineId && (p.field || []).some((f) => ADDRESS_FIELDS.includes(f) || f === "address"))]);
  const general = unique.filter((p) => !shown.has(p));

  return html`<h1>Your cart</h1>
    <div class="two">
      <div>
        <ul class="lines" aria-label="Cart lines">
          ${lines.map(({ line, problems }) => html`<${Line} key=${line.id} line=${line} problems=${problems} busy=${busy}
            onQuantity=${(l, q) => change("CartLinesUpdate", { lines: [{ lineId: l.id, quantity: q }] }, "cartLinesUpdate")}
            onRemove=${(l) => change("CartLinesRemove", { lineIds: [l.id] }, "cartLinesRemove")} />`)}
        </ul>
        <${Hints} cart=${cart} busy=${busy}
          apply=${(codes) => change("CartCouponsSet", { couponCodes: codes }, "cartCouponsSet")} />
        <${Coupons} cart=${cart} problems=${coupons} busy=${busy}
          apply=${(codes) => change("CartCouponsSet", { couponCodes: codes }, "cartCouponsSet")} />
        <${AddressForm} cart=${cart} problems=${address} busy=${busy}
          save=${(a) => change("CartShippingAddressSet", { address: a }, "cartShippingAddressSet")} />
      </div>
      <aside aria-labelledby="summary-heading">
        <h2 id="summary-heading">Summary</h2>
        <${Totals} cost=${cart.cost} />
        <div aria-live="polite">
          ${priceChanged && html`<p class="notice warn price-changed" role="alert">The price changed: the new total is
            <strong>${money(priceChanged.now)}</strong> (was ${money(priceChanged.was)}). Place the order again to accept it.</p>`}
          <${Problems} problems=${general} id="checkout-problems" />
        </div>
        ${signedIn
          ? html`<button type="button" class="place-order" onClick=${placeOrder} disabled=${busy}>
              ${busy ? "Working…" : `Place order · ${money(cart.cost.total)}`}</button>`
          : html`<p><a class="button" href=${`#/signin?next=${encodeURIComponent("#/cart")}`}>Sign in to place the order</a></p>`}
      </aside>
    </div>`;
}
