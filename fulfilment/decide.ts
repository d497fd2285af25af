import { type OutboxEvent, type PayloadOf, shipmentDispatched, shipmentFailed } from '../lib/events.ts'

/**
 * Fulfilment's rule, from the order alone: the warehouse packs at most `warehouseCapacity`
 * copies of a book into one shipment (no limit when it is null or absent). Pure, so a redelivered
 * order gets the same answer, and tests produce either outcome on purpose by setting the capacity.
 */
export function decideShipment(order: PayloadOf<'OrderPlaced'>, at: Date): OutboxEvent {
  const base = {
    orderId: order.id,
    bookId: order.bookId,
    quantity: order.quantity,
    createdAt: at.toISOString(),
  }
  const capacity = order.warehouseCapacity ?? null
  if (capacity !== null && order.quantity > capacity)
    return shipmentFailed({
      ...base,
      status: 'failed',
      reason: `${order.quantity} copies exceed the warehouse capacity of ${capacity} per shipment`,
    })
  return shipmentDispatched({ ...base, status: 'dispatched', reason: null })
}
