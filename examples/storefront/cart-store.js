// The buyer's cart id, kept in this browser (an anonymous cart is reachable by its id).
import { gql } from "../shared/client.js";

const KEY = "storefront.cart";

export function cartId() {
  return localStorage.getItem(KEY);
}

export function forgetCart() {
  localStorage.removeItem(KEY);
}

// Adds a SKU to the cart, creating the cart on first use; {ok, problems, cart}.
export async function addToCart(skuId, quantity) {
  const lines = [{ skuId, quantity }];
  let id = cartId();
  let payload;
  if (id) {
    payload = (await gql("CartLinesAdd", { cartId: id, lines })).cartLinesAdd;
    if (payload.userErrors.some((e) => e.code === "CART_NOT_FOUND" || e.code === "CART_COMPLETED")) {
      id = null;
    }
  }
  if (!id) {
    payload = (await gql("CartCreate", { lines })).cartCreate;
    if (payload.cart) localStorage.setItem(KEY, payload.cart.id);
  }
  return { ok: payload.userErrors.length === 0, problems: payload.userErrors, cart: payload.cart };
}
