import { eq, sql } from 'drizzle-orm'
import type { DbOrTx } from '../../db/client.ts'
import { orders } from '../../db/schema.ts'
import { fromCents, type Order } from '../../lib/events.ts'

export type OrderRow = typeof orders.$inferSelect

export function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    customerId: row.customerId,
    bookId: row.bookId,
    quantity: row.quantity,
    total: fromCents(row.totalCents),
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    warehouseCapacity: row.warehouseCapacity,
    fulfilledAt: row.fulfilledAt?.toISOString() ?? null,
    cancelledAt: row.cancelledAt?.toISOString() ?? null,
    cancelReason: row.cancelReason,
  }
}

export async function insertOrder(
  tx: DbOrTx,
  row: typeof orders.$inferInsert & { warehouseCapacity: number | null },
): Promise<OrderRow> {
  const [inserted] = await tx
    .insert(orders)
    .values({
      id: sql.placeholder('id'),
      customerId: sql.placeholder('customerId'),
      bookId: sql.placeholder('bookId'),
      quantity: sql.placeholder('quantity'),
      totalCents: sql.placeholder('totalCents'),
      status: sql.placeholder('status'),
      createdAt: sql.placeholder('createdAt'),
      warehouseCapacity: sql.placeholder('warehouseCapacity'),
    })
    .returning()
    .prepare('insert_order')
    .execute(row)
  if (!inserted) throw new Error('insert into orders returned no row')
  return inserted
}

export async function findOrder(tx: DbOrTx, id: string): Promise<OrderRow | undefined> {
  const [row] = await tx.select().from(orders).where(eq(orders.id, id))
  return row
}
