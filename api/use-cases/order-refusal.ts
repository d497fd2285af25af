import { ApiError } from '../errors.ts'

/** What the refusal looks at: the book as it stands, or undefined when there is no such book. */
export interface BookOnShelf {
  stock: number
  removedAt: Date | null
}

/**
 * Why an order for `quantity` copies of `bookId` was refused, once taking the stock took nothing:
 * no such book (422), a book no longer on sale (409), or too few copies (409, retryable: stock
 * may come back). Removal wins over stock, as a removed book cannot be ordered at any quantity.
 * Pure: the caller reads the book, in the same transaction, and throws what this returns.
 */
export function orderRefusal(
  input: { bookId: string; quantity: number },
  book: BookOnShelf | undefined,
): ApiError {
  if (!book) return new ApiError('BOOK_NOT_FOUND', `bookId: no book with id ${input.bookId}.`)
  if (book.removedAt)
    return new ApiError('BOOK_REMOVED', `bookId: book ${input.bookId} is no longer on sale.`)
  return new ApiError(
    'INSUFFICIENT_STOCK',
    `quantity: ${input.quantity} requested but only ${book.stock} in stock for book ${input.bookId}.`,
    { retryable: true },
  )
}
