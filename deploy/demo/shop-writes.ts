import { randomInt } from 'node:crypto';
import type { ShopDb, ShopTx } from './shop-db.ts';
import { chance, customerProfile, money, cents, newCustomer, newProduct, orderNote, randomCountry, randomTier, shippingAddress } from './shop-data.ts';

// What a small shop's application does all day, as one transaction each: orders placed (an order, its lines and
// the stock they take), orders moving through their states, carts abandoned, old orders archived, customers
// signing up, changing and leaving, prices changing. One SQL text serves MariaDB and PostgreSQL (see shop-db.ts).
// Children are deleted before their parents in the same transaction: the schemas have no cascading keys.

type Write = (tx: ShopTx) => Promise<number>;

/** The writes and how often each is picked: orders mostly, some churn everywhere else. */
const WRITES: readonly [weight: number, name: string, write: Write][] = [
  [30, 'place order', placeOrder],
  [25, 'advance order', advanceOrder],
  [10, 'sign up', signUp],
  [10, 'update customer', updateCustomer],
  [8, 'reprice product', repriceProduct],
  [7, 'abandon order', abandonOrder],
  [5, 'archive order', archiveOrder],
  [3, 'forget customer', forgetCustomer],
  [2, 'new product', addProduct],
];
const TOTAL_WEIGHT = WRITES.reduce((sum, [weight]) => sum + weight, 0);

/** One random business transaction; returns how many rows it changed. */
export async function writeOnce(db: ShopDb): Promise<number> {
  let ticket = randomInt(TOTAL_WEIGHT);
  const chosen = WRITES.find(([weight]) => (ticket -= weight) < 0) ?? WRITES[0];
  return db.transaction((tx) => chosen![2](tx));
}

/** The id of a random row of `table` (ids have gaps: the first id at or after a random point), or undefined. */
async function randomId(tx: ShopTx, table: 'customers' | 'products', where = '1 = 1'): Promise<string | undefined> {
  const [range] = await tx.rows(`SELECT MIN(id) AS lo, MAX(id) AS hi FROM ${table} WHERE ${where}`);
  if (range?.lo == null) return undefined;
  const lo = BigInt(String(range.lo));
  const hi = BigInt(String(range.hi));
  const start = lo + BigInt(randomInt(Number(hi - lo) + 1));
  const [row] = await tx.rows(`SELECT id FROM ${table} WHERE ${where} AND id >= ? ORDER BY id LIMIT 1`, [start.toString()]);
  return row === undefined ? undefined : String(row.id);
}

async function placeOrder(tx: ShopTx): Promise<number> {
  const customer = await randomId(tx, 'customers');
  const first = await randomId(tx, 'products', 'active = TRUE');
  if (customer === undefined || first === undefined) return signUp(tx);
  const products = await tx.rows('SELECT id, price FROM products WHERE active = TRUE AND id >= ? ORDER BY id LIMIT ?', [first, randomInt(1, 4)]);
  const lines = products.map((product, index) => ({ lineNo: index + 1, productId: String(product.id), quantity: randomInt(1, 4), unitPrice: String(product.price) }));
  const total = money(lines.reduce((sum, line) => sum + cents(line.unitPrice) * BigInt(line.quantity), 0n));
  const orderId = await tx.insertId(
    "INSERT INTO orders (customer_id, status, total, currency, placed_at, note, shipping_address) VALUES (?, 'pending', ?, 'EUR', CURRENT_TIMESTAMP(6), ?, ?)",
    [customer, total, orderNote(), shippingAddress()],
  );
  let changed = 1;
  for (const line of lines) {
    changed += await tx.run('INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price) VALUES (?, ?, ?, ?, ?)', [
      orderId,
      line.lineNo,
      line.productId,
      line.quantity,
      line.unitPrice,
    ]);
    changed += await tx.run('UPDATE products SET stock = GREATEST(stock - ?, 0), updated_at = CURRENT_TIMESTAMP(6) WHERE id = ?', [line.quantity, line.productId]);
  }
  return changed;
}

const NEXT_STATUS: Record<string, string> = { pending: 'paid', paid: 'shipped', shipped: 'delivered' };

async function advanceOrder(tx: ShopTx): Promise<number> {
  const [order] = await tx.rows("SELECT id, status FROM orders WHERE status IN ('pending', 'paid', 'shipped') ORDER BY id DESC LIMIT 1 OFFSET ?", [randomInt(20)]);
  if (order === undefined) return placeOrder(tx);
  const status = String(order.status);
  if (status !== 'shipped' && chance(0.1)) {
    return tx.run("UPDATE orders SET status = 'cancelled', note = ? WHERE id = ?", ['Cancelled at the customer\'s request', String(order.id)]);
  }
  const next = NEXT_STATUS[status] as string;
  if (next === 'shipped') return tx.run("UPDATE orders SET status = 'shipped', shipped_at = CURRENT_TIMESTAMP(6) WHERE id = ?", [String(order.id)]);
  return tx.run('UPDATE orders SET status = ? WHERE id = ?', [next, String(order.id)]);
}

async function deleteOrder(tx: ShopTx, id: string): Promise<number> {
  const lines = await tx.run('DELETE FROM order_items WHERE order_id = ?', [id]);
  return lines + (await tx.run('DELETE FROM orders WHERE id = ?', [id]));
}

/** A pending order deleted with its lines, as a shop that keeps only real orders would. */
async function abandonOrder(tx: ShopTx): Promise<number> {
  const [order] = await tx.rows("SELECT id FROM orders WHERE status = 'pending' ORDER BY id DESC LIMIT 1 OFFSET ?", [randomInt(10)]);
  return order === undefined ? 0 : deleteOrder(tx, String(order.id));
}

/** The oldest finished order leaves the operational database (it lives on in the warehouse and the lake). */
async function archiveOrder(tx: ShopTx): Promise<number> {
  const [order] = await tx.rows("SELECT id FROM orders WHERE status IN ('delivered', 'cancelled') ORDER BY id LIMIT 1");
  return order === undefined ? 0 : deleteOrder(tx, String(order.id));
}

async function signUp(tx: ShopTx): Promise<number> {
  const c = newCustomer();
  await tx.insertId(
    'INSERT INTO customers (external_id, email, full_name, country, tier, marketing_opt_in, profile, created_at, updated_at) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(6), CURRENT_TIMESTAMP(6))',
    [tx.uuid(c.uuid), c.email, c.fullName, c.country, c.tier, c.marketingOptIn, c.profile],
  );
  return 1;
}

async function updateCustomer(tx: ShopTx): Promise<number> {
  const id = await randomId(tx, 'customers');
  if (id === undefined) return signUp(tx);
  return tx.run('UPDATE customers SET tier = ?, marketing_opt_in = ?, country = ?, profile = ?, updated_at = CURRENT_TIMESTAMP(6) WHERE id = ?', [
    randomTier(),
    chance(0.5),
    randomCountry(),
    chance(0.1) ? null : customerProfile(),
    id,
  ]);
}

/**
 * A customer without orders asks to be forgotten: only one this generator signed up (its addresses end in
 * @example.com), past the three seed customers, so rows a person or a test adds stay.
 */
async function forgetCustomer(tx: ShopTx): Promise<number> {
  const [customer] = await tx.rows(
    "SELECT c.id FROM customers c WHERE c.id > 3 AND c.email LIKE '%@example.com' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) " +
      'ORDER BY c.id DESC LIMIT 1',
  );
  return customer === undefined ? 0 : tx.run('DELETE FROM customers WHERE id = ?', [String(customer.id)]);
}

async function repriceProduct(tx: ShopTx): Promise<number> {
  const id = await randomId(tx, 'products');
  if (id === undefined) return addProduct(tx);
  // Up to 10% either way, never below 0.50, and a restock now and then.
  const factor = (randomInt(90, 111) / 100).toFixed(2);
  return tx.run('UPDATE products SET price = GREATEST(ROUND(price * ?, 2), 0.50), stock = stock + ?, updated_at = CURRENT_TIMESTAMP(6) WHERE id = ?', [
    factor,
    chance(0.3) ? randomInt(10, 200) : 0,
    id,
  ]);
}

async function addProduct(tx: ShopTx): Promise<number> {
  const p = newProduct();
  await tx.insertId('INSERT INTO products (sku, name, description, price, weight_kg, stock, active, attributes, updated_at) VALUES (?, ?, ?, ?, ?, ?, TRUE, ?, CURRENT_TIMESTAMP(6))', [
    p.sku,
    p.name,
    p.description,
    p.price,
    p.weightKg,
    p.stock,
    p.attributes,
  ]);
  return 1;
}
