import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import type { Db } from '../../db/client.ts'
import { ApiError } from '../errors.ts'
import { type ApiMetrics, countEvents } from '../metrics.ts'
import { findOrder, toOrder } from '../repositories/orders.ts'
import { placeOrder } from '../use-cases/place-order.ts'
import {
  bodyErrors,
  errorBody,
  idParams,
  orderSchema,
  placeOrderBody,
  writeContextOf,
  writeHeaders,
} from './schemas.ts'

export const orderRoutes: FastifyPluginAsyncZod<{
  db: Db
  metrics: ApiMetrics
  idempotencyKeyTtlHours: number
}> = async (app, { db, metrics, idempotencyKeyTtlHours }) => {
  app.post(
    '/orders',
    {
      schema: {
        summary: 'Place an order (takes stock, emits OrderPlaced)',
        headers: writeHeaders,
        body: placeOrderBody,
        response: {
          200: orderSchema,
          201: orderSchema,
          400: errorBody,
          409: errorBody,
          422: errorBody,
          ...bodyErrors,
        },
      },
    },
    async (request, reply) => {
      const result = await placeOrder(
        db,
        request.body,
        writeContextOf(request.headers, idempotencyKeyTtlHours),
      )
      if (result.replayed) reply.header('idempotent-replayed', 'true')
      countEvents(metrics, result.events)
      return reply.code(result.statusCode as 201).send(result.body as z.infer<typeof orderSchema>)
    },
  )

  app.get(
    '/orders/:id',
    {
      schema: {
        summary: 'One order',
        params: idParams,
        response: { 200: orderSchema, 400: errorBody, 404: errorBody },
      },
    },
    async (request) => {
      const row = await findOrder(db, request.params.id)
      if (!row) throw new ApiError('NOT_FOUND', `No order with id ${request.params.id}.`)
      return toOrder(row)
    },
  )
}
