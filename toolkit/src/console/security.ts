import { createHash, timingSafeEqual } from 'node:crypto'
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

const digest = (text: string) => createHash('sha256').update(text).digest()

/** The header every request of the page carries (see the onRequest hook). */
export const consoleHeader = 'x-console'

/** Compares in constant time (through digests, so the lengths need not match). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected))
}

/**
 * What guards the console:
 * - every request must name the console's own host and port (a page elsewhere that points a
 *   DNS name at 127.0.0.1 cannot read it);
 * - the actions (`guardAction`) need the token as `Authorization: Bearer …`, and a CSRF token from
 *   GET /api/csrf tied to a SameSite=Strict cookie. The token is never sent to the page: the user
 *   brings it in the URL's fragment, which browsers do not send to servers.
 */
export async function registerSecurity(
  app: FastifyInstance,
  o: { allowedHosts: () => readonly string[]; token: string },
) {
  app.addHook('onRequest', async (request, reply) => {
    const host = (request.headers.host ?? '').toLowerCase()
    if (!o.allowedHosts().some((allowed) => allowed.toLowerCase() === host))
      return reply
        .code(421)
        .send({ code: 'HOST_NOT_ALLOWED', message: 'open the console by the address it printed' })
    // A page elsewhere can make a browser send a simple GET (an <img>, a form) but not one with a
    // header of our own without a CORS preflight, which the console never answers: so no other
    // site can make it read Kafka on its behalf.
    // The route the router matched, not the raw URL: the router decodes and normalises the path
    // (`/%61pi/…` is `/api/…` to it), so a test of the raw string can be spelled around.
    if (request.routeOptions.url?.startsWith('/api/') && request.headers[consoleHeader] !== '1')
      return reply.code(403).send({
        code: 'CONSOLE_HEADER_REQUIRED',
        message: `the console's API answers its own page (header ${consoleHeader}: 1)`,
      })
  })
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    reply.header('x-frame-options', 'DENY')
    reply.header(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    )
    reply.header('referrer-policy', 'no-referrer')
  })
  await app.register(fastifyCookie)
  await app.register(fastifyCsrf, {
    cookieOpts: { path: '/', sameSite: 'strict', httpOnly: true },
  })
  app.get('/api/csrf', async (_request, reply) => ({ csrfToken: reply.generateCsrf() }))

  const requireToken = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined
    if (given === undefined)
      return reply.code(401).send({
        code: 'TOKEN_REQUIRED',
        message:
          'read-only: actions need the console token (open the console with #token=<token> after its address)',
      })
    if (!tokenMatches(given, o.token))
      return reply.code(403).send({ code: 'TOKEN_INVALID', message: 'the console token does not match' })
  }
  /** For a route's `onRequest`: the token first, then CSRF. */
  return { guardAction: [requireToken, app.csrfProtection] }
}
