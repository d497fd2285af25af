import fc from 'fast-check'

/**
 * fast-check generators for API requests that are valid in shape (JSON objects with the right
 * field names and types) and sit at the boundaries of each field. Every generated value says
 * whether the API promises to accept it (`valid`) and what it means once accepted (`value`), as
 * docs/api.md states the limits; a test compares the API's answer with that.
 */
export interface FieldValue {
  /** The value as JSON text, so NUL, lone surrogates and number spellings reach the server as sent. */
  json: string
  valid: boolean
  /** What the API stores for a valid value (trimmed text, the number). */
  value?: unknown
}

export const field = (json: string, valid: boolean, value?: unknown): FieldValue => ({ json, valid, value })
// --- text: 1 to 200 code points after trimming, no NUL, no lone surrogate -------------------------

const whitespace = fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\u2028', '\u3000', '\ufeff')
/** Pieces of one or two UTF-16 units: astral characters, combining marks, controls that are not NUL. */
const piece = fc.constantFrom(
  'a',
  'é',
  'e\u0301',
  '中',
  '😀',
  '𝄞',
  '\u{10FFFF}',
  '\u200b',
  '\u200d',
  '\u202e',
  '\u0001',
  '\u007f',
  '"',
  '\\',
  "'",
  '%',
)
const codePoints = (s: string) => [...s].length
/** Exactly `n` code points, made of `pieces` (cut on a code point boundary). */
const ofLength = (pieces: string[], n: number) => [...pieces.join('').padEnd(n * 2, 'x')].slice(0, n).join('')

/** The API's promise for text, stated once here: what the generators' validity tags mean. */
export function expectedText(raw: string): FieldValue {
  const trimmed = raw.trim()
  const valid =
    codePoints(trimmed) >= 1 &&
    codePoints(trimmed) <= 200 &&
    !trimmed.includes('\u0000') &&
    !/\p{Surrogate}/u.test(trimmed)
  return field(JSON.stringify(raw), valid, trimmed)
}

const rawText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(piece, { minLength: 1, maxLength: 8 }), fc.constantFrom(1, 199, 200, 201))
      .map(([pieces, n]) => ofLength(pieces, n)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ unit: whitespace, maxLength: 5 }),
        fc.array(piece, { minLength: 1 }),
        fc.string({ unit: whitespace, minLength: 1, maxLength: 5 }),
      )
      .map(([left, pieces, right]) => `${left}${ofLength(pieces, 200)}${right}`),
  },
  { weight: 1, arbitrary: fc.string({ unit: whitespace, maxLength: 6 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ unit: 'grapheme', maxLength: 10 }),
        fc.constantFrom('\u0000', '\ud800', '\udfff', '\udc00\ud800'),
        fc.string({ unit: 'grapheme', maxLength: 10 }),
      )
      .map(([a, bad, b]) => `${a}${bad}${b}`),
  },
)
export const textField = rawText.map(expectedText)

// --- numbers, as JSON text ---------------------------------------------------------------------

export const maxPriceCents = 10_000_000

/** Prices built from whole cents (valid) and the spellings and near misses around them (not). */
export const priceField: fc.Arbitrary<FieldValue> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.integer({ min: 1, max: maxPriceCents }),
          fc.constantFrom(1, 9, 10, 99, 100, 101, 1299, 9_999_999, maxPriceCents),
        ),
        fc.constantFrom('shortest', 'fixed', 'exponent'),
      )
      .map(([cents, spelling]) => {
        const value = cents / 100
        const json =
          spelling === 'fixed'
            ? value.toFixed(2)
            : spelling === 'exponent'
              ? value.toExponential()
              : String(value)
        return field(json, true, value)
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('0', '-0', '0.0', '1e-9', '5e-324', '0.001', '0.005', '0.009', '-0.01', '12.345')
      .map((json) => field(json, false)),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '100000.01',
        '100001',
        '1e21',
        '1.7976931348623157e308',
        '1e400',
        '-1e400',
        '12.990000001',
      )
      .map((json) => field(json, false)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: maxPriceCents - 1 }), fc.integer({ min: 1, max: 9 }))
      .map(([cents, mills]) => field(String((cents * 10 + mills) / 1000), false)),
  },
)

const intField = (min: number, max: number, extraValid: string[], invalid: string[]) =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .oneof(fc.integer({ min, max }), fc.constantFrom(min, min + 1, max - 1, max))
        .map((n) => field(String(n), true, n)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...extraValid).map((json) => field(json, true, Number(json))),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.constantFrom(...invalid), fc.double({ min, max, noInteger: true, noNaN: true }).map(String))
        .map((json) => field(json, false)),
    },
  )

export const stockField = intField(
  0,
  1_000_000,
  ['-0', '1.0', '1e6', '1000000.0', '0e0'],
  ['-1', '1000001', '1.5', '1e21', '2147483648', '9007199254740993', '1e400'],
)
/** Mostly small quantities (so most orders find stock), and the edges: 1, 1000 and just past them. */
export const quantityField = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.integer({ min: 1, max: 5 }).map((n) => field(String(n), true, n)),
  },
  {
    weight: 2,
    arbitrary: intField(
      1,
      1_000,
      ['1.0', '1e3', '1E0'],
      ['0', '-0', '-1', '1001', '1.5', '2147483648', '1e21', '1e400'],
    ),
  },
)

// --- ids ---------------------------------------------------------------------------------------

export const uuidField: fc.Arbitrary<FieldValue> = fc.oneof(
  { weight: 8, arbitrary: fc.uuid().map((id) => field(JSON.stringify(id), true, id)) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.uuid().map((id) => id.toUpperCase()),
        fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
      )
      .map((id) => field(JSON.stringify(id), true, id)),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.uuid().map((id) => id.replaceAll('-', '')),
        fc.uuid().map((id) => `{${id}}`),
        fc.uuid({ version: 15 }),
        fc.constantFrom('bob', '', '00000000-0000-0000-0000-00000000000'),
      )
      .map((id) => field(JSON.stringify(id), false)),
  },
)

/** Only the values the API must accept, edges included (200 code points, 0.01, 100000, stock 0). */
export const validOnly = (arbitrary: fc.Arbitrary<FieldValue>) => arbitrary.filter((v) => v.valid)

/** `arbitrary` once in `oneIn` draws, else null (fc.option's `freq` is the chance of null instead). */
export const rarely = <T>(arbitrary: fc.Arbitrary<T>, oneIn: number) =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary })
