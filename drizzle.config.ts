import { defineConfig } from 'drizzle-kit'

/**
 * drizzle-kit reads this to generate SQL migrations from db/schema.ts (`npx drizzle-kit generate`).
 * Applying them is `npm run db:migrate`, which does not go through drizzle-kit.
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
})
