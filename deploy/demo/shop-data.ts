import { randomInt, randomUUID } from 'node:crypto';

// Made-up but plausible values for the load generator: names with accents, prices with cents, JSON documents with
// nesting, and a share of NULLs, so the targets show more than ASCII and integers.

const FIRST = ['Ada', 'Grace', 'Alan', 'Zoë', 'Björn', 'Chloé', 'Dmitri', 'Eun-ji', 'Fatima', 'Jürgen', 'Kwame', 'Lucía', 'Mei', 'Noor', 'Oğuz', 'Priya'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Ångström', 'Nakamura', 'Okafor', 'Dubois', 'García', 'Kowalski', 'Murphy', "O'Brien", 'Šimić', 'Tanaka', 'Weiß'];
const COUNTRIES = ['GB', 'US', 'DE', 'FR', 'ES', 'SE', 'JP', 'KR', 'NG', 'IN', 'BR', 'PL', 'TR'];
const TIERS = ['standard', 'standard', 'standard', 'silver', 'gold'] as const;
const LANGUAGES = ['en', 'de', 'fr', 'es', 'sv', 'ja'];
const NOUNS = ['mug', 'teapot', 'kettle', 'tote', 'notebook', 'lamp', 'blanket', 'candle', 'vase', 'apron', 'grinder', 'tray'];
const ADJECTIVES = ['Stoneware', 'Linen', 'Walnut', 'Enamel', 'Copper', 'Recycled', 'Hand-thrown', 'Matte', 'Glazed'];
const COLOURS = ['slate', 'sand', 'moss', 'rust', 'ink', 'chalk'];
const STREETS = ['Market Street', 'Rue de la Paix', 'Hauptstraße', 'Calle Mayor', 'Storgatan', 'Baker Street'];
const CITIES = ['London', 'Paris', 'Berlin', 'Madrid', 'Stockholm', 'Kraków', 'Osaka', 'Lagos'];
const NOTES = ['Leave at the door', 'Gift wrap, please', 'Call before delivery', 'Fragile — handle with care'];

export const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)] as T;
/** True with probability `p`. */
export const chance = (p: number): boolean => Math.random() < p;

export function newCustomer() {
  const first = pick(FIRST);
  const last = pick(LAST);
  return {
    uuid: randomUUID(),
    // The random part keeps the unique key apart from earlier runs' customers.
    email: `${first}.${last}.${randomInt(1 << 30).toString(36)}@example.com`.toLowerCase().replace(/[^a-z0-9.@-]/g, ''),
    fullName: `${first} ${last}`,
    country: chance(0.15) ? null : pick(COUNTRIES),
    tier: pick(TIERS),
    marketingOptIn: chance(0.4),
    profile: chance(0.2) ? null : customerProfile(),
  };
}

export function customerProfile(): string {
  return JSON.stringify({
    language: pick(LANGUAGES),
    newsletter: chance(0.5) ? ['weekly'] : [],
    lastSeen: new Date().toISOString(),
    visits: randomInt(1, 500),
  });
}

export const randomTier = (): string => pick(TIERS);
export const randomCountry = (): string | null => (chance(0.1) ? null : pick(COUNTRIES));

export function newProduct() {
  const noun = pick(NOUNS);
  return {
    sku: `${noun.slice(0, 3).toUpperCase()}-${randomInt(1_000_000).toString().padStart(6, '0')}`,
    name: `${pick(ADJECTIVES)} ${noun}`,
    description: chance(0.3) ? null : `A ${noun} in ${pick(COLOURS)}, made to last.`,
    price: money(randomInt(299, 15_000)),
    weightKg: chance(0.1) ? null : randomInt(50, 5_000) / 1000,
    stock: randomInt(0, 400),
    attributes: chance(0.2) ? null : JSON.stringify({ colour: pick(COLOURS), tags: [noun], dimensionsCm: [randomInt(5, 60), randomInt(5, 60)] }),
  };
}

export function shippingAddress(): string | null {
  if (chance(0.1)) return null;
  return JSON.stringify({ line1: `${randomInt(1, 300)} ${pick(STREETS)}`, city: pick(CITIES), postcode: String(randomInt(10_000, 99_999)) });
}

export const orderNote = (): string | null => (chance(0.8) ? null : pick(NOTES));

/** Cents as a decimal string: amounts never pass through a binary float. */
export function money(cents: number | bigint): string {
  const value = BigInt(cents);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** A decimal string with two fraction digits as cents. */
export function cents(decimal: string): bigint {
  const [whole = '0', fraction = ''] = decimal.split('.');
  const sign = whole.startsWith('-') ? -1n : 1n;
  return sign * (BigInt(whole.replace('-', '')) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2)));
}
