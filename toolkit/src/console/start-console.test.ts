import { describe, expect, it } from 'vitest'
import { consoleUrl, consoleUrlWithToken } from './start-console.ts'

describe('the address the console prints', () => {
  it('carries any token the page can read back as it was (a base64 one has + / =)', () => {
    const token = 'ab+cd/ef==gh&ij#kl%mn+opqrstuvwxyz0123456789'
    const url = new URL(consoleUrlWithToken(consoleUrl('127.0.0.1', 3002), token))
    // As the page reads it: the fragment as search parameters.
    expect(new URLSearchParams(url.hash.slice(1)).get('token')).toBe(token)
  })
})
