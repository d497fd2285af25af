import fc from 'fast-check'
import {
  type FieldValue,
  field,
  maxPriceCents,
  priceField,
  quantityField,
  rarely,
  stockField,
  textField,
  uuidField,
  validOnly,
} from './fields.ts'

/**
 * Whole requests built from the field generators: JSON bodies (keys in any order, maybe unknown
 * or duplicated), Idempotency-Key choices, order plans and read requests.
 */

// --- whole bodies --------------------------------------------------------------------------------

export interface GeneratedBody {
  /** The JSON text sent: keys in any order, maybe an unknown key, maybe a key given twice. */
  json: string
  /** True when every field is valid and nothing unknown is present: the API must accept it. */
  valid: boolean
  /** The fields as the API stores them (the last value of a duplicated key, as JSON.parse keeps). */
  values: Record<string, unknown>
}

/**
 * A body with `fields`, sent as raw JSON: sometimes with an unknown key (never valid), sometimes
 * with a key twice, the first occurrence anything at all (JSON.parse keeps the last one).
 */
export function bodyOf(
  fields: Record<string, fc.Arbitrary<FieldValue>>,
  options: { unknownKeys?: boolean } = {},
): fc.Arbitrary<GeneratedBody> {
  const names = Object.keys(fields)
  return fc
    .record({
      values: fc.record(fields),
      order: fc.shuffledSubarray(names, { minLength: names.length, maxLength: names.length }),
      unknown:
        options.unknownKeys === false
          ? fc.constant(null)
          : rarely(fc.constantFrom('isbn', 'Title', 'price ', 'total', 'id'), 12),
      duplicate: rarely(
        fc.tuple(fc.constantFrom(...names), fc.constantFrom('null', '"x"', '-1', '1e-9', '{}')),
        6,
      ),
    })
    .map(({ values, order, unknown, duplicate }) => {
      const entries = order.map((name) => [name, (values[name] as FieldValue).json])
      if (duplicate) entries.unshift([duplicate[0], duplicate[1]])
      if (unknown) entries.push([unknown, '1'])
      return {
        json: `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`,
        valid: unknown === null && Object.values(values).every((v) => v.valid),
        values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.value])),
      }
    })
}

/** Books the API must accept. */
export const validBookBody = bodyOf(
  {
    title: validOnly(textField),
    author: validOnly(textField),
    price: validOnly(priceField),
    stock: validOnly(stockField),
  },
  { unknownKeys: false },
)

/**
 * Mostly bodies the API must accept, so most requests reach the database; the rest mix in values
 * just past each limit, unknown keys and the like.
 */
export const bookBody = fc.oneof(
  { weight: 3, arbitrary: validBookBody },
  {
    weight: 2,
    arbitrary: bodyOf({ title: textField, author: textField, price: priceField, stock: stockField }),
  },
)

// --- Idempotency-Key -------------------------------------------------------------------------

export type KeyChoice =
  | { kind: 'none' }
  | { kind: 'fresh'; length: number }
  | { kind: 'invalid'; key: string }

/** No key, a fresh key of 1 to 255 printable ASCII characters, or a malformed key (400). */
export const keyChoice: fc.Arbitrary<KeyChoice> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 4,
    arbitrary: fc
      .oneof(fc.integer({ min: 1, max: 255 }), fc.constantFrom(1, 36, 254, 255))
      .map((length) => ({ kind: 'fresh' as const, length })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('', 'x'.repeat(256), 'has space', 'tab\tkey', 'clé')
      .map((key) => ({ kind: 'invalid' as const, key })),
  },
)

let keySerial = 0
/** Every printable ASCII character (0x21 to 0x7e), what a key may hold. */
const keyAlphabet = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join('')

/**
 * A key no earlier request used, of exactly `length` printable ASCII characters (a serial number
 * in that alphabet, so even one-character keys are unique for the first 94 keys of a run; shorter keys may
 * repeat an earlier one, which the test's model of stored keys expects).
 */
export function freshKey(length: number): string {
  let n = keySerial++
  let key = ''
  do {
    key += keyAlphabet[n % keyAlphabet.length]
    n = Math.floor(n / keyAlphabet.length)
  } while (n > 0)
  return key.length >= length ? key.slice(0, length) : key.padEnd(length, '~')
}

// --- orders and reads ------------------------------------------------------------------------

/** Stands for the id of the book the test creates first; replaced before sending. */
export const thisBook = '__BOOK__'

/** The test's book most of the time, else a well-formed unknown id (422) or a malformed one (400). */
const bookIdField = fc.oneof(
  { weight: 10, arbitrary: fc.constant(field(JSON.stringify(thisBook), true, thisBook)) },
  { weight: 1, arbitrary: fc.uuid().map((id) => field(JSON.stringify(id), true, id)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('42', '', thisBook.toLowerCase())
      .map((id) => field(JSON.stringify(id), false)),
  },
)

/** Orders the API must accept for the test's book (when it has the stock). */
export const validOrderBody = bodyOf(
  {
    customerId: validOnly(uuidField),
    bookId: fc.constant(field(JSON.stringify(thisBook), true, thisBook)),
    quantity: validOnly(quantityField),
  },
  { unknownKeys: false },
)

export const orderBody = fc.oneof(
  {
    weight: 3,
    arbitrary: bodyOf(
      {
        customerId: validOnly(uuidField),
        bookId: validOnly(bookIdField),
        quantity: validOnly(quantityField),
      },
      { unknownKeys: false },
    ),
  },
  { weight: 1, arbitrary: bodyOf({ customerId: uuidField, bookId: bookIdField, quantity: quantityField }) },
)

/** A book at the edges of price and stock, maybe taken off sale, then a few orders for it. */
export const orderPlan = fc.record({
  priceCents: fc.oneof(
    fc.integer({ min: 1, max: maxPriceCents }),
    fc.constantFrom(1, 9_999_999, maxPriceCents),
  ),
  stock: fc.oneof(
    fc.integer({ min: 0, max: 30 }),
    fc.constantFrom(0, 1, 1_000, 999_999, 1_000_000),
    fc.integer({ min: 0, max: 1_000_000 }),
  ),
  removed: fc.oneof(
    { weight: 9, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  orders: fc.array(fc.record({ body: orderBody, key: keyChoice }), { minLength: 1, maxLength: 6 }),
})

/**
 * A query parameter's value: `valid` ones must give 200, `invalid` ones 400, and `either` are
 * spellings whose meaning the API does not promise (an empty value, hex, padding): any 2xx or 4xx.
 */
export interface QueryValue {
  text: string | undefined
  expect: 'valid' | 'invalid' | 'either'
}
const queryValue = (valid: string[], invalid: string[]) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant<QueryValue>({ text: undefined, expect: 'valid' }) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(...valid).map((text): QueryValue => ({ text, expect: 'valid' })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...invalid).map((text): QueryValue => ({ text, expect: 'invalid' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', ' 7', '1e1', '0x10', '-0', '07')
        .map((text): QueryValue => ({ text, expect: 'either' })),
    },
  )

export const listQuery = fc.record({
  limit: queryValue(
    ['1', '2', '100', '499', '500'],
    ['0', '-1', '501', '1.5', 'abc', '1e400', '9007199254740993'],
  ),
  offset: queryValue(['0', '1', '3', '999999', '1000000'], ['-1', '1000001', '0.5', 'x', '1e21']),
  /** An unknown parameter (400) or the limit given twice (400). */
  extra: rarely(fc.constantFrom('sort=title', 'limit=1&limit=2', 'offset=0&offset=0'), 10),
})

/** An id in a path: one the test created, the same upper-cased, unknown, nil, or malformed (400). */
export const idTarget = fc.oneof(
  { weight: 6, arbitrary: fc.nat().map((index) => ({ kind: 'known' as const, index, upper: false })) },
  { weight: 1, arbitrary: fc.nat().map((index) => ({ kind: 'known' as const, index, upper: true })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.uuid(),
        fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
      )
      .map((id) => ({ kind: 'unknown' as const, id })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '42',
        'not-a-uuid',
        '00000000-0000-0000-0000-0000000000000',
        'gggggggg-gggg-4ggg-8ggg-gggggggggggg',
        '%00',
      )
      .map((id) => ({ kind: 'malformed' as const, id })),
  },
)
