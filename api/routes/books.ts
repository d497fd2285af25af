import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Db } from '../../db/client.ts'
import { ApiError } from '../errors.ts'
import { type ApiMetrics, countEvents } from '../metrics.ts'
import { findBook, listBooks, toBook } from '../repositories/books.ts'
import { addBook } from '../use-cases/add-book.ts'
import { removeBook } from '../use-cases/remove-book.ts'
import { setWarehouseCapacity } from '../use-cases/set-warehouse-capacity.ts'
import {
  addBookBody,
  bodyErrors,
  bookSchema,
  errorBody,
  idParams,
  listQuery,
  traceContextOf,
  warehouseCapacityBody,
  writeContextOf,
  writeHeaders,
} from './schemas.ts'

export const bookRoutes: FastifyPluginAsyncZod<{
  db: Db
  metrics: ApiMetrics
  idempotencyKeyTtlHours: number
}> = async (app, { db, metrics, idempotencyKeyTtlHours }) => {
  app.post(
    '/books',
    {
      schema: {
        summary: 'Add a book (emits BookAdded)',
        headers: writeHeaders,
        body: addBookBody,
        response: { 200: bookSchema, 201: bookSchema, 400: errorBody, 422: errorBody, ...bodyErrors },
      },
    },
    async (request, reply) => {
      const result = await addBook(db, request.body, writeContextOf(request.headers, idempotencyKeyTtlHours))
      if (result.replayed) reply.header('idempotent-replayed', 'true')
      countEvents(metrics, result.events)
      return reply.code(result.statusCode as 201).send(result.body as z.infer<typeof bookSchema>)
    },
  )

  app.get(
    '/books',
    {
      schema: {
        summary: 'Books on sale',
        querystring: listQuery,
        response: { 200: z.array(bookSchema), 400: errorBody },
      },
    },
    async (request) => (await listBooks(db, request.query)).map(toBook),
  )

  app.get(
    '/books/:id',
    {
      schema: {
        summary: 'One book',
        params: idParams,
        response: { 200: bookSchema, 400: errorBody, 404: errorBody },
      },
    },
    async (request) => {
      const row = await findBook(db, request.params.id)
      if (!row || row.removedAt) throw new ApiError('NOT_FOUND', `No book with id ${request.params.id}.`)
      return toBook(row)
    },
  )

  app.put(
    '/books/:id/warehouse-capacity',
    {
      schema: {
        summary: 'Set the most copies per shipment (orders above it are cancelled by fulfilment)',
        params: idParams,
        body: warehouseCapacityBody,
        response: { 200: bookSchema, 400: errorBody, 404: errorBody, ...bodyErrors },
      },
    },
    async (request) => setWarehouseCapacity(db, request.params.id, request.body.capacity),
  )

  app.delete(
    '/books/:id',
    {
      schema: {
        summary: 'Take a book off sale (emits BookRemoved)',
        params: idParams,
        response: { 200: bookSchema, 400: errorBody, 404: errorBody, ...bodyErrors },
      },
    },
    async (request) => {
      const result = await removeBook(db, request.params.id, {
        traceContext: traceContextOf(request.headers),
      })
      countEvents(metrics, result.events)
      return result.body
    },
  )
}
