/**
 * Passwords written into URLs (`CONNECT_URL=http://admin:secret@…`, a `DATABASE_URL`) must never
 * reach a terminal, a log line or an error. Everything that prints a URL goes through here.
 */

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a URL without a password is unchanged. */
export function redactUrl(url: string): string {
  // Parsed only to tell a URL from garbage; the text itself is masked, so a URL without a password
  // comes back exactly as written (URL#toString would add a '/' that callers compare against).
  try {
    new URL(url)
  } catch {
    return '(unparseable url)'
  }
  return redactText(url)
}

/** The URL without `user:password@` at all, for a page that has no use for the user either. */
export function withoutUserinfo(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.username = ''
    parsed.password = ''
    return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '')
  } catch {
    return '(unparseable url)'
  }
}

// scheme://user:password@ — the password runs to the last '@' before the host: URL parsers and
// postgres.js take an unencoded '@' inside a password, so the first '@' may be part of it. (A
// password with a space in it cannot be told from the text around it; percent-encode it.)
const userinfoPassword = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#]*@/gi

/** Every URL's password in a free text (an error message, a JSON document) replaced by `***`. */
export function redactText(text: string): string {
  let masked = text.replace(userinfoPassword, '$1:***@')
  for (const secret of secrets) masked = masked.split(secret).join('***')
  return masked
}

/**
 * Secrets read from the environment or files (readSecret): a SASL or Connect password is no URL's
 * userinfo, so it is masked by value. Values under 8 characters are not: masking `true` or `admin`
 * would garble ordinary output (JSON included), and such a password is too short to be one anyone
 * should use.
 */
const secrets = new Set<string>()

/** Masks `value` in every text redactText sees from now on. */
export function maskSecret(value: string): void {
  if (value.length >= 8) secrets.add(value)
}
