import type { Db } from '../../db/client.ts'
import type { Book } from '../../lib/events.ts'
import { ApiError } from '../errors.ts'
import { toBook, setWarehouseCapacity as updateCapacity } from '../repositories/books.ts'

/**
 * Sets how many copies of a book the warehouse packs into one shipment (null: no limit). It
 * emits no event: nothing downstream keeps it, since every order carries the capacity of its own
 * moment (OrderPlaced's `warehouseCapacity`), so changing it never changes a decision already made.
 */
export async function setWarehouseCapacity(db: Db, id: string, capacity: number | null): Promise<Book> {
  return db.transaction(async (tx) => {
    const row = await updateCapacity(tx, id, capacity, new Date())
    if (!row) throw new ApiError('NOT_FOUND', `No book with id ${id}.`)
    return toBook(row)
  })
}
